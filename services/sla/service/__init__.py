"""SLA's use cases: clocks started and moved by the ticket's events, their warnings, breaches
and outcomes announced, the setup (calendars, their assignment, policies) read with a TTL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.cache import Expiring
from shared.clock import Clock
from shared.errors import NotFound
from shared.events import Event
from shared.events.common import Priority, ServiceLevel
from shared.events.sla import (
    SlaBreached,
    SlaMet,
    SlaTargetData,
    SlaTargetStopped,
    SlaTargetStoppedData,
    SlaWarning,
)
from shared.outbox import OutboxRelay
from shared.revisions import rewrite

from .. import metrics
from ..domain import (
    Calendar,
    Happening,
    Policy,
    SlaClock,
    always_on,
    default_policies,
    office,
    policy_id,
)
from ..store import ClockStore, InputStore, SetupStore, TimerStore

Change = tuple[SlaClock, list[Event[Any]]]


@dataclass(frozen=True)
class Setup:
    calendars: dict[str, Calendar]
    assignments: dict[str, str]
    policies: dict[str, Policy]

    def policy(self, level: ServiceLevel | None, priority: Priority) -> Policy:
        return self.policies[policy_id(level, priority)]

    def calendar(self, policy: Policy, organization_id: str | None, queue: str | None) -> Calendar:
        """The customer's calendar, else the queue's, else the policy's."""
        for key in (f"organization:{organization_id}", f"queue:{queue}"):
            chosen = self.assignments.get(key)
            if chosen in self.calendars:
                return self.calendars[chosen]
        return self.calendars.get(policy.calendar_id) or self.calendars["24x7"]


def default_calendars() -> dict[str, Calendar]:
    return {
        c.id: c
        for c in (
            always_on(),
            office("office", "Europe/Stockholm", "SE", "Office hours, Sweden"),
        )
    }


@dataclass
class SlaDeps:
    store: ClockStore
    timers: TimerStore
    setup_store: SetupStore
    inputs: InputStore
    relay: OutboxRelay
    clock: Clock
    holder: str = "sla"
    setup: Expiring[Setup] = field(default_factory=lambda: Expiring(2.0))
    loops: list[Callable[[], Any]] = field(default_factory=list)


async def current_setup(deps: SlaDeps) -> Setup:
    """Calendars, their assignments and policies, read at most every few seconds."""
    return await deps.setup.get(lambda: _load_setup(deps))


async def _load_setup(deps: SlaDeps) -> Setup:
    calendars = default_calendars() | {c.id: c for c in await deps.setup_store.calendars()}
    policies = default_policies() | {p.id: p for p in await deps.setup_store.policy_overrides()}
    return Setup(calendars, await deps.setup_store.assignments(), policies)


def forget_setup(deps: SlaDeps) -> None:
    deps.setup.forget()


async def get_clock(ticket_id: str, deps: SlaDeps) -> SlaClock:
    clock = await deps.store.get_clock(ticket_id)
    if clock is None:
        raise NotFound(f"no SLA clock for ticket {ticket_id}")
    return clock


async def change_clock(
    ticket_id: str, deps: SlaDeps, decide: Callable[[SlaClock, Setup], Change | None]
) -> SlaClock | None:
    """Read, decide, claim the next revision; decide again when another writer came first.
    A new check time gets its timer."""

    async def decided(clock: SlaClock) -> Change | None:
        return decide(clock, await current_setup(deps))

    done = await rewrite(
        deps.relay,
        deps.store.collection_of(ticket_id),
        ticket_id,
        lambda: deps.store.get_clock(ticket_id),
        decided,
        deps.store.save_clock,
    )
    if done is None:
        return None
    before, after = done
    if after is not before:
        await schedule(before, after, deps)
    return after


async def schedule(before: SlaClock | None, after: SlaClock, deps: SlaDeps) -> None:
    if after.next_check_at is not None and (
        before is None or before.next_check_at != after.next_check_at
    ):
        # never behind the scheduler's cursor: an overdue check is made in the next round
        at = max(after.next_check_at, deps.clock.now())
        await deps.timers.add_timer(after.ticket_id, at)


def announced(clock: SlaClock, happenings: list[Happening], now: datetime) -> list[Event[Any]]:
    """The events of warnings, breaches and targets met, and of every target that stopped."""
    events: list[Event[Any]] = []
    kinds: dict[str, type[SlaWarning] | type[SlaBreached] | type[SlaMet]] = {
        "warning": SlaWarning,
        "breached": SlaBreached,
        "met": SlaMet,
    }
    for h in happenings:
        data = SlaTargetData(
            ticket_id=clock.ticket_id,
            number=clock.number,
            target=h.target,
            due_at=h.due_at,
            elapsed_seconds=h.elapsed_seconds,
            fraction=round(h.fraction, 4),
        )
        kind = kinds.get(h.kind)
        if kind is not None:  # else a miss announced as a breach before
            events.append(kind.create(source="sla", subject=clock.ticket_id, time=now, data=data))
            metrics.OUTCOMES.labels(h.kind, h.target).inc()
        if h.stopped:
            final = SlaTargetStoppedData(
                **data.model_dump(), outcome="met" if h.kind == "met" else "missed"
            )
            events.append(
                SlaTargetStopped.create(source="sla", subject=clock.ticket_id, time=now, data=final)
            )
    return events
