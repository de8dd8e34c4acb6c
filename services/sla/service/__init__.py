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
    ALWAYS_ON,
    Calendar,
    Happening,
    Policy,
    SlaClock,
    always_on,
    default_policies,
    office,
    policy_id,
    unusable,
)
from ..store import CLOCKS, ClockStore, InputStore, SetupStore, TimerStore
from . import unplanned

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
    unreadable: dict[str, str] = field(default_factory=dict)  # stored calendar id -> error

    def policy(self, level: ServiceLevel | None, priority: Priority) -> Policy:
        return self.policies[policy_id(level, priority)]

    def calendar(self, policy: Policy, organization_id: str | None, queue: str | None) -> Calendar:
        """The customer's calendar, else the queue's, else the policy's."""
        for key in (f"organization:{organization_id}", f"queue:{queue}"):
            chosen = self.assignments.get(key)
            if chosen in self.calendars or chosen in self.unreadable:
                return self.calendar_of(chosen)
        return self.calendar_of(policy.calendar_id)

    def calendar_of(self, calendar_id: str) -> Calendar:
        """The calendar a clock runs on. One stored but unreadable is a stand-in without open
        time (its clocks stay unplanned, with the error, until it is fixed); 24x7 if gone."""
        if calendar_id in self.calendars:
            return self.calendars[calendar_id]
        if calendar_id in self.unreadable:
            return unusable(calendar_id, self.unreadable[calendar_id])
        return self.calendars[ALWAYS_ON]


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
    min_open_hours: float = 52.0  # a calendar saved must be open this long in every year


async def current_setup(deps: SlaDeps) -> Setup:
    """Calendars, their assignments and policies, read at most every few seconds."""
    return await deps.setup.get(lambda: _load_setup(deps))


async def _load_setup(deps: SlaDeps) -> Setup:
    """A stored calendar or policy that does not load is left out (logged and counted by the
    store): a policy falls back to its default, and the clocks of an unreadable calendar run
    unplanned on a stand-in (an unreadable override of a default calendar leaves the default)."""
    stored = await deps.setup_store.calendars()
    overrides = await deps.setup_store.policy_overrides()
    calendars = default_calendars() | {c.id: c for c in stored.records}
    policies = default_policies() | {p.id: p for p in overrides.records}
    broken = {k: v for k, v in stored.unreadable.items() if k not in calendars}
    return Setup(calendars, await deps.setup_store.assignments(), policies, broken)


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
    now = deps.clock.now()

    async def decided(clock: SlaClock) -> Change | None:
        change = decide(clock, await current_setup(deps))
        if change is not None:  # a target without a due time is announced with the write
            after, events = change
            change = after, [*events, *unplanned.alerts(clock, after, now, events)]
        last[0] = change
        return change  # rewrite returns right after the save of its last decision

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
    unplanned.report(events)


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
