"""A ticket's events move its clock: triaged (start, re-plan), the agent's public reply,
waiting for the customer, resolved, reopened, closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import Event
from shared.events.common import AuthorType, TicketStatus, Visibility
from shared.events.intake import TicketMessageAdded
from shared.events.sla import (
    SlaClockPaused,
    SlaClockPauseData,
    SlaClockResumed,
    SlaClockStarted,
    SlaClockStartedData,
    SlaTarget,
)
from shared.events.triage import (
    TicketClosed,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketTriaged,
)

from .. import domain, metrics
from ..domain import SlaClock
from ..store import CLOCKS
from . import Change, Setup, SlaDeps, announced, change_clock, current_setup, schedule


async def triaged(event: TicketTriaged, deps: SlaDeps) -> SlaClock | None:
    """The first ticket.triaged starts the clock; a later one (a corrected priority) re-plans
    it on the new policy, keeping the time used."""
    data = event.data
    if await deps.store.get_clock(data.ticket_id) is None:
        return await _start(event, deps)
    now = deps.clock.now()

    def replanned(clock: SlaClock, setup: Setup) -> Change | None:
        policy = setup.policy(data.service_level, data.priority)
        calendar = setup.calendar(policy, data.organization_id, data.queue)
        if (policy.id, calendar.id) == (clock.policy_id, clock.calendar_id):
            return None
        was = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        return domain.replan(clock, policy, calendar, now, was), []

    return await change_clock(data.ticket_id, deps, replanned)


async def _start(event: TicketTriaged, deps: SlaDeps) -> SlaClock:
    data = event.data
    setup = await current_setup(deps)
    policy = setup.policy(data.service_level, data.priority)
    calendar = setup.calendar(policy, data.organization_id, data.queue)
    clock = domain.start(
        data.ticket_id, data.number, policy, calendar, event.time, data.organization_id, data.queue
    )
    started = SlaClockStarted.create(
        source="sla",
        subject=data.ticket_id,
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
        await schedule(None, clock, deps)
    return clock


async def status_changed(event: TicketStatusChanged, deps: SlaDeps) -> SlaClock | None:
    """Waiting for the customer does not count (seed 004, slide 6)."""
    data, at, now = event.data, event.time, deps.clock.now()
    waiting = TicketStatus.PENDING_CUSTOMER
    if waiting not in (data.to_status, data.from_status):
        return None

    def moved(clock: SlaClock, setup: Setup) -> Change | None:
        calendar = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        info = SlaClockPauseData(ticket_id=clock.ticket_id, number=clock.number, reason="")
        if data.to_status is waiting and not clock.paused:
            after = domain.pause(clock, calendar, at, "waiting for the customer")
            paused = info.model_copy(update={"reason": "waiting for the customer"})
            return after, [_event(SlaClockPaused, clock, paused, now, event)]
        if data.from_status is waiting and clock.paused:
            after = domain.resume(clock, calendar, at)
            resumed = info.model_copy(update={"reason": f"now {data.to_status.value}"})
            return after, [_event(SlaClockResumed, clock, resumed, now, event)]
        return None

    return await change_clock(data.ticket_id, deps, moved)


def _event(
    kind: type[SlaClockPaused] | type[SlaClockResumed],
    clock: SlaClock,
    data: SlaClockPauseData,
    now: datetime,
    cause: Event[Any],
) -> Event[Any]:
    return kind.create(
        source="sla",
        subject=clock.ticket_id,
        time=now,
        correlation_id=cause.correlationid,
        data=data,
    )


async def message_added(event: TicketMessageAdded, deps: SlaDeps) -> SlaClock | None:
    """A public agent reply gives the first response and starts the next-update clock over."""
    data = event.data
    if data.author_type is not AuthorType.AGENT or data.visibility is not Visibility.PUBLIC:
        return None
    now = deps.clock.now()

    def replied(clock: SlaClock, setup: Setup) -> Change:
        calendar = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        after, happened = domain.agent_replied(clock, calendar, event.time)
        return after, announced(clock, happened, now)

    return await change_clock(data.ticket_id, deps, replied)


async def ended(event: TicketResolved | TicketClosed, deps: SlaDeps) -> SlaClock | None:
    now = deps.clock.now()

    def stopped(clock: SlaClock, setup: Setup) -> Change | None:
        calendar = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        after, happened = domain.resolved(clock, calendar, event.time)
        if after == clock:
            return None
        return after, announced(clock, happened, now)

    return await change_clock(event.data.ticket_id, deps, stopped)


async def reopened(event: TicketReopened, deps: SlaDeps) -> SlaClock | None:
    def going_on(clock: SlaClock, setup: Setup) -> Change:
        calendar = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        return domain.reopened(clock, calendar, event.time), []

    return await change_clock(event.data.ticket_id, deps, going_on)
