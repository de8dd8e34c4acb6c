"""A ticket's SLA clock, pure: each target starts, pauses, resumes, stops and resets on the
ticket's events, and says which warnings and breaches are due at a given moment.

first_response runs from the start to the first public agent reply. next_update starts with
that reply and starts over at each later one, so it never overrides the first response.
resolution runs to ticket.resolved and resumes on a reopen (its time accumulates). Waiting for
the customer pauses every running target (seed 004, slide 6).

A warning or breach found while the clock's calendar is closed (a 24x7 calendar never is) is
held until it opens when the policy keeps quiet hours: no escalation at midnight for an
office-hours contract. Due times fall in business hours, so this takes an overdue clock: sla
down overnight, a reopen past the target, a tightened policy. The breach keeps its due time.
A replay of history (recalculation) announces nothing and holds nothing.

A running target whose due time cannot be planned (its calendar has too little open time, the
target is too long to fit) is kept, running, with `planned` false and the reason: its time
used still counts, and it is planned again at the clock's next change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.events.common import Priority, ServiceLevel

from .calendar import Calendar, Unplannable, add_business, business_seconds, closed_until
from .policies import Policy

TargetState = Literal["waiting", "running", "paused", "stopped"]
EPSILON = 1e-6


class TargetClock(BaseModel):
    name: str
    target_seconds: int
    state: TargetState = "running"
    elapsed_seconds: float = Field(default=0.0, description="Business seconds before `since`")
    since: datetime | None = Field(default=None, description="Start of the running stretch")
    due_at: datetime | None = None
    round: int = Field(default=0, description="Starts over (next update) count")
    warned: list[float] = Field(default_factory=list)
    breached: bool = False
    outcome: Literal["met", "missed"] | None = None
    at_risk: bool = Field(default=False, description="A breach was predicted (this round)")
    risk_reason: str | None = None
    planned: bool = Field(default=True, description="False: running with no due time planned")
    unplanned_reason: str | None = Field(default=None, description="Why it could not be")

    def used(self, calendar: Calendar, now: datetime) -> float:
        running = business_seconds(calendar, self.since, now) if self.since else 0.0
        return self.elapsed_seconds + running


class Pause(BaseModel):
    start: datetime
    end: datetime | None = None
    reason: str


class SlaClock(BaseModel):
    ticket_id: str
    number: str | None
    policy_id: str
    service_level: ServiceLevel | None
    priority: Priority
    calendar_id: str
    organization_id: str | None = None
    queue: str | None = None
    started_at: datetime
    paused: bool = False
    pauses: list[Pause] = Field(default_factory=list)
    targets: list[TargetClock]
    warn_at: list[float] = Field(default_factory=lambda: [0.75, 0.9])
    quiet_hours: bool = True
    next_check_at: datetime | None = None
    held_until: datetime | None = Field(
        default=None, description="Announcements held while the calendar is closed"
    )
    revision: int = 0

    def target(self, name: str) -> TargetClock | None:
        return next((t for t in self.targets if t.name == name), None)


@dataclass(frozen=True)
class Happening:
    """Something the clock has to announce: warning, breached, met, missed."""

    kind: Literal["warning", "breached", "met", "missed"]
    target: str
    due_at: datetime | None
    elapsed_seconds: int
    fraction: float
    stopped: bool = False  # the target stopped (met or missed): its time used is final


def start(
    ticket_id: str,
    number: str | None,
    policy: Policy,
    calendar: Calendar,
    now: datetime,
    organization_id: str | None = None,
    queue: str | None = None,
) -> SlaClock:
    targets = [
        TargetClock(
            name=name,
            target_seconds=seconds,
            state="waiting" if name == "next_update" else "running",
            since=None if name == "next_update" else now,
        )
        for name, seconds in policy.target_seconds.items()
    ]
    clock = SlaClock(
        ticket_id=ticket_id,
        number=number,
        policy_id=policy.id,
        service_level=policy.service_level,
        priority=policy.priority,
        calendar_id=calendar.id,
        organization_id=organization_id,
        queue=queue,
        started_at=now,
        targets=targets,
        warn_at=list(policy.warn_at),
        quiet_hours=policy.quiet_hours,
    )
    return planned(clock, calendar)


def replan(
    clock: SlaClock, policy: Policy, calendar: Calendar, now: datetime, was: Calendar
) -> SlaClock:
    """Another policy or calendar (the priority or level changed): the time used so far (on
    the calendar it ran on, `was`) stays, the targets and due times change."""
    targets = []
    for t in clock.targets:
        folded = _fold(t, was, now)
        seconds = policy.target_seconds.get(t.name, t.target_seconds)
        warned = [f for f in folded.warned if f * seconds <= folded.elapsed_seconds]
        targets.append(folded.model_copy(update={"target_seconds": seconds, "warned": warned}))
    changed = clock.model_copy(
        update={
            "policy_id": policy.id,
            "service_level": policy.service_level,
            "priority": policy.priority,
            "calendar_id": calendar.id,
            "warn_at": list(policy.warn_at),
            "quiet_hours": policy.quiet_hours,
            "targets": targets,
        }
    )
    return planned(changed, calendar)


def pause(clock: SlaClock, calendar: Calendar, now: datetime, reason: str) -> SlaClock:
    if clock.paused:
        return clock
    targets = [
        _fold(t, calendar, now).model_copy(update={"state": "paused", "since": None})
        if t.state == "running"
        else t
        for t in clock.targets
    ]
    pauses = [*clock.pauses, Pause(start=now, reason=reason)]
    changed = clock.model_copy(update={"paused": True, "pauses": pauses, "targets": targets})
    return planned(changed, calendar)


def resume(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    if not clock.paused:
        return clock
    targets = [
        t.model_copy(update={"state": "running", "since": now}) if t.state == "paused" else t
        for t in clock.targets
    ]
    pauses = [*clock.pauses[:-1], clock.pauses[-1].model_copy(update={"end": now})]
    changed = clock.model_copy(update={"paused": False, "pauses": pauses, "targets": targets})
    return planned(changed, calendar)


def agent_replied(
    clock: SlaClock, calendar: Calendar, now: datetime
) -> tuple[SlaClock, list[Happening]]:
    """A public agent reply: the first response is given; the next update starts (over)."""
    happened: list[Happening] = []
    targets = []
    for t in clock.targets:
        if t.name == "first_response" and t.state in ("running", "paused"):
            t, outcome = _stopped(t, calendar, now)
            happened.append(outcome)
        elif t.name == "next_update" and t.state != "stopped":
            t, ended = _started_over(t, calendar, now, clock.paused)
            happened.extend(ended)
        targets.append(t)
    return planned(clock.model_copy(update={"targets": targets}), calendar), happened


def resolved(
    clock: SlaClock, calendar: Calendar, now: datetime
) -> tuple[SlaClock, list[Happening]]:
    """Resolution given (or closed): every target still open stops, met or missed."""
    happened: list[Happening] = []
    targets = []
    for t in clock.targets:
        if t.state in ("running", "paused"):
            t, outcome = _stopped(t, calendar, now)
            happened.append(outcome)
        elif t.state == "waiting":
            t = t.model_copy(update={"state": "stopped"})
        targets.append(t)
    pauses = clock.pauses
    if clock.paused and pauses and pauses[-1].end is None:  # resolved while waiting
        pauses = [*pauses[:-1], pauses[-1].model_copy(update={"end": now})]
    changed = clock.model_copy(update={"targets": targets, "paused": False, "pauses": pauses})
    return planned(changed, calendar), happened


def reopened(clock: SlaClock, calendar: Calendar, now: datetime) -> SlaClock:
    """The resolution clock goes on from where it stopped; the next update starts over."""
    targets = []
    for t in clock.targets:
        if t.name == "resolution" and t.state == "stopped":
            t = t.model_copy(update={"state": "running", "since": now, "outcome": None})
        elif t.name == "next_update" and t.state == "stopped":
            t = t.model_copy(
                update={
                    "state": "running",
                    "since": now,
                    "elapsed_seconds": 0.0,
                    "round": t.round + 1,
                    "warned": [],
                    "breached": False,
                    "outcome": None,
                }
            )
        targets.append(t)
    return planned(clock.model_copy(update={"targets": targets, "paused": False}), calendar)


def check(
    clock: SlaClock, calendar: Calendar, now: datetime, hold: bool = True
) -> tuple[SlaClock, list[Happening]]:
    """Warnings and breaches due by `now`, each once per target and round; held until the
    calendar opens when it is closed and the clock keeps quiet hours (unless not to `hold`)."""
    happened: list[Happening] = []
    targets = []
    opens = closed_until(calendar, now) if hold and clock.quiet_hours else None
    held = False
    for t in clock.targets:
        if t.state == "running" and not t.breached:
            used = t.used(calendar, now)
            fraction = used / t.target_seconds if t.target_seconds else 1.0
            # a hair of tolerance: 8.1 / 9 is 0.8999999999999999 in floating point
            fresh = [f for f in clock.warn_at if fraction >= f - EPSILON and f not in t.warned]
            breached = used >= t.target_seconds - EPSILON
            if opens is not None and (breached or fresh):
                held = True
            elif breached:
                happened.append(Happening("breached", t.name, t.due_at, int(used), fraction))
                t = t.model_copy(update={"breached": True, "warned": [*t.warned, *fresh]})
            elif fresh:
                happened.append(Happening("warning", t.name, t.due_at, int(used), max(fresh)))
                t = t.model_copy(update={"warned": [*t.warned, *fresh]})
        targets.append(t)
    checked = planned(clock.model_copy(update={"targets": targets}), calendar)
    if held:
        checked = checked.model_copy(update={"next_check_at": opens, "held_until": opens})
    return checked, happened


def planned(clock: SlaClock, calendar: Calendar) -> SlaClock:
    """Due times of the running targets, and the next moment anything may need announcing."""
    targets = []
    checks: list[datetime] = []
    for t in clock.targets:
        if t.state != "running" or t.since is None:
            targets.append(t.model_copy(update={"due_at": None} if t.state != "stopped" else {}))
            continue
        try:
            due, *warnings = _moments(t, clock.warn_at, calendar)
        except Unplannable as exc:  # kept running, without a due time: see the module's note
            reason = str(exc)
            targets.append(
                t.model_copy(update={"due_at": None, "planned": False, "unplanned_reason": reason})
            )
            continue
        targets.append(
            t.model_copy(update={"due_at": due, "planned": True, "unplanned_reason": None})
        )
        if not t.breached:
            checks.extend([due, *warnings])
    return clock.model_copy(
        update={
            "targets": targets,
            "next_check_at": min(checks, default=None),
            "held_until": None,
        }
    )


def _moments(t: TargetClock, warn_at: list[float], calendar: Calendar) -> list[datetime]:
    """A running target's due time, then the moments of its warnings still to come (none once
    breached); Unplannable when the due time cannot be planned."""
    assert t.since is not None, "a running target runs since a moment"
    since, used = t.since, t.elapsed_seconds
    due = add_business(calendar, since, max(t.target_seconds - used, 0.0))
    if t.breached:
        return [due]
    fractions = [f for f in warn_at if f not in t.warned]
    return [
        due,
        *(add_business(calendar, since, max(f * t.target_seconds - used, 0.0)) for f in fractions),
    ]


def _fold(t: TargetClock, calendar: Calendar, now: datetime) -> TargetClock:
    """The running stretch added to the elapsed time, starting again from `now`."""
    if t.state != "running" or t.since is None:
        return t
    return t.model_copy(update={"elapsed_seconds": t.used(calendar, now), "since": now})


def _stopped(t: TargetClock, calendar: Calendar, now: datetime) -> tuple[TargetClock, Happening]:
    """Stopped: met, or missed; a miss nobody announced yet (it stopped late, before the
    scheduler's check) is announced now as the breach."""
    used = t.used(calendar, now) if t.state == "running" else t.elapsed_seconds
    missed = t.breached or used > t.target_seconds
    stopped = t.model_copy(
        update={
            "state": "stopped",
            "elapsed_seconds": used,
            "since": None,
            "outcome": "missed" if missed else "met",
            "breached": missed,
        }
    )
    kind: Literal["met", "missed", "breached"] = (
        "met" if not missed else "missed" if t.breached else "breached"
    )
    fraction = used / t.target_seconds if t.target_seconds else 1.0
    return stopped, Happening(kind, t.name, t.due_at, int(used), fraction, stopped=True)


def _started_over(
    t: TargetClock, calendar: Calendar, now: datetime, paused: bool
) -> tuple[TargetClock, list[Happening]]:
    """The next-update clock starts (again): a running round ends met or missed first."""
    happened: list[Happening] = []
    if t.state in ("running", "paused"):
        t, outcome = _stopped(t, calendar, now)
        happened.append(outcome)
    fresh = t.model_copy(
        update={
            "state": "paused" if paused else "running",
            "since": None if paused else now,
            "elapsed_seconds": 0.0,
            "round": t.round + (0 if t.outcome is None and t.state == "waiting" else 1),
            "warned": [],
            "breached": False,
            "outcome": None,
            "at_risk": False,
            "risk_reason": None,
        }
    )
    return fresh, happened


def flagged(clock: SlaClock, target: str, reason: str) -> SlaClock:
    """The target marked at risk (announced once per round)."""
    targets = [
        t.model_copy(update={"at_risk": True, "risk_reason": reason}) if t.name == target else t
        for t in clock.targets
    ]
    return clock.model_copy(update={"targets": targets})
