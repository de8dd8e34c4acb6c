"""SLA's use cases."""

from __future__ import annotations

from dataclasses import dataclass

from shared.clock import Clock as TimeSource
from shared.errors import NotFound
from shared.events.sla import SlaClockStarted, SlaClockStartedData, SlaTarget
from shared.events.triage import TicketTriaged
from shared.outbox import OutboxRelay

from . import metrics
from .domain import ALWAYS_ON, policy_id, targets_for
from .store import CLOCKS, Clock, ClockTarget, SlaStore


@dataclass
class SlaDeps:
    store: SlaStore
    relay: OutboxRelay
    clock: TimeSource


async def start_clock(event: TicketTriaged, deps: SlaDeps) -> Clock:
    """Start the ticket's clock with the targets of its level and priority; once per ticket,
    as the keyed insert refuses a second clock."""
    triaged = event.data
    start = event.time
    targets = targets_for(triaged.service_level, triaged.priority, start)
    clock = Clock(
        ticket_id=triaged.ticket_id,
        number=triaged.number,
        policy_id=policy_id(triaged.service_level, triaged.priority),
        service_level=triaged.service_level,
        priority=triaged.priority,
        calendar_id=ALWAYS_ON,
        state="running",
        started_at=start,
        next_check_at=min(t.due_at for t in targets),
        targets=[
            ClockTarget(name=t.name, target_seconds=t.seconds, due_at=t.due_at) for t in targets
        ],
    )
    started = SlaClockStarted.create(
        source="sla",
        subject=triaged.ticket_id,
        time=deps.clock.now(),
        correlation_id=event.correlationid,
        data=SlaClockStartedData(
            ticket_id=clock.ticket_id,
            number=clock.number,
            policy_id=clock.policy_id,
            service_level=clock.service_level,
            priority=clock.priority,
            calendar_id=clock.calendar_id,
            targets=[
                SlaTarget(name=t.name, target_seconds=t.target_seconds, due_at=t.due_at)
                for t in clock.targets
            ],
        ),
    )
    async with deps.relay.writing(CLOCKS, clock.ticket_id):
        inserted = await deps.store.insert_clock(clock, [started])
    if inserted:
        metrics.CLOCKS_STARTED.labels(clock.policy_id).inc()
    return clock


async def get_clock(ticket_id: str, deps: SlaDeps) -> Clock:
    clock = await deps.store.get_clock(ticket_id)
    if clock is None:
        raise NotFound(f"no SLA clock for ticket {ticket_id}")
    return clock
