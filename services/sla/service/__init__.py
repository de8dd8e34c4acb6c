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
from shared.versioned import rewrite

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
from ..store import CLOCKS, ClockStore, InputStore, SetupStore, TimerStore

Change = tuple[SlaClock, list[Event[Any]]]
OUTCOMES: dict[type[Event[Any]], str] = {
    SlaWarning: "warning",
    SlaBreached: "breached",
    SlaMet: "met",
}


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


@dataclass(frozen=True)
class Written:
    """A clock's change as written: `after` is `before` (and no events) when nothing changed."""

    before: SlaClock
    after: SlaClock
    events: list[Event[Any]]


async def rewrite_clock(
    ticket_id: str, deps: SlaDeps, decide: Callable[[SlaClock, Setup], Change | None]
) -> Written | None:
    """Read, decide, compare-and-set the next revision; decide again when another writer came
    first. Outcomes are counted once the write succeeded, and a new check time gets its timer.
    None when the ticket has no clock."""
    last: list[Change | None] = [None]

    async def decided(clock: SlaClock) -> Change | None:
        last[0] = decide(clock, await current_setup(deps))
        return last[0]  # rewrite returns right after the save of its last decision

    done = await rewrite(
        deps.relay,
        CLOCKS,
        ticket_id,
        lambda: deps.store.get_clock(ticket_id),
        decided,
        deps.store.save_clock,
    )
    if done is None:
        return None
    before, after = done
    if after is before or last[0] is None:
        return Written(before, before, [])
    events = last[0][1]
    count_outcomes(events)
    await schedule(before, after, deps)
    return Written(before, after, events)


async def change_clock(
    ticket_id: str, deps: SlaDeps, decide: Callable[[SlaClock, Setup], Change | None]
) -> SlaClock | None:
    """The clock after `decide` (see rewrite_clock); None when the ticket has no clock."""
    written = await rewrite_clock(ticket_id, deps, decide)
    return written.after if written is not None else None


def count_outcomes(events: list[Event[Any]]) -> None:
    for event in events:
        kind = OUTCOMES.get(type(event))
        if kind is not None:
            metrics.OUTCOMES.labels(kind, event.data.target).inc()


async def schedule(before: SlaClock | None, after: SlaClock, deps: SlaDeps) -> None:
    if after.next_check_at is not None and (
        before is None or before.next_check_at != after.next_check_at
    ):
        # an overdue check is made at once: in the next second the scheduler reads
        at = max(after.next_check_at, deps.clock.now())
        await deps.timers.add_timer(after.ticket_id, at)


def announced(clock: SlaClock, happenings: list[Happening], now: datetime) -> list[Event[Any]]:
    """The events of warnings, breaches and targets met, and of every target that stopped
    (pure: counted by rewrite_clock once written)."""
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
        if h.stopped:
            final = SlaTargetStoppedData(
                **data.model_dump(), outcome="met" if h.kind == "met" else "missed"
            )
            events.append(
                SlaTargetStopped.create(source="sla", subject=clock.ticket_id, time=now, data=final)
            )
    return events
