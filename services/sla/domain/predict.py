"""Seeing a breach coming: a target is at risk when the time it usually takes in its queue, or
the wait behind the tickets ahead at the pace the queue is handled, exceeds the time left,
while there is still time to act (before the first warning).

The inputs are learnt from the clocks themselves: how long each target took when it stopped,
and how many stopped lately, per queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from .calendar import Calendar
from .clock import SlaClock, TargetClock
from .policies import TARGET_NAMES

MIN_SAMPLES = 5
RECENT = timedelta(days=7)
PACE_WINDOW = timedelta(hours=8)


@dataclass(frozen=True)
class QueueStats:
    """What a queue's recent history says about one target."""

    typical_seconds: float | None  # median business seconds the target took
    samples: int
    handled_recently: int  # targets stopped within PACE_WINDOW
    waiting: list[tuple[int, datetime]]  # (priority rank, started) of clocks still running


@dataclass(frozen=True)
class Risk:
    target: str
    needed_seconds: float
    left_seconds: float
    reason: str


def learn(clocks: list[SlaClock], now: datetime) -> dict[tuple[str, str], QueueStats]:
    """Per (queue, target): the typical duration, the recent pace, who is waiting."""
    durations: dict[tuple[str, str], list[float]] = {}
    recent: dict[tuple[str, str], int] = {}
    waiting: dict[tuple[str, str], list[tuple[int, datetime]]] = {}
    for clock in clocks:
        queue = clock.queue or "-"
        for t in clock.targets:
            key = (queue, t.name)
            if t.state == "stopped" and t.outcome and clock.started_at >= now - RECENT:
                durations.setdefault(key, []).append(t.elapsed_seconds)
                if clock.started_at >= now - PACE_WINDOW:
                    recent[key] = recent.get(key, 0) + 1
            elif t.state == "running":
                waiting.setdefault(key, []).append((_rank(clock), clock.started_at))
    keys = set(durations) | set(waiting)
    return {
        key: QueueStats(
            typical_seconds=median(durations[key]) if len(durations.get(key, [])) else None,
            samples=len(durations.get(key, [])),
            handled_recently=recent.get(key, 0),
            waiting=sorted(waiting.get(key, [])),
        )
        for key in keys
    }


def watched(clock: SlaClock, now: datetime | None = None) -> bool:
    """Whether the predictor reads this clock: a target runs (it may be at risk, or others wait
    behind it), or one stopped with an outcome (the history it learns from; given `now`, only
    while that history is recent)."""
    if any(t.state == "running" for t in clock.targets):
        return True
    learnt = any(t.state == "stopped" and t.outcome for t in clock.targets)
    return learnt and (now is None or clock.started_at >= now - RECENT)


def assess(
    clock: SlaClock,
    target: TargetClock,
    stats: QueueStats | None,
    calendar: Calendar,
    now: datetime,
) -> Risk | None:
    """At risk, and why; None when on course, already warned, or too little history."""
    if target.state != "running" or target.breached or target.warned or stats is None:
        return None
    if stats.samples < MIN_SAMPLES or stats.typical_seconds is None:
        return None
    used = target.used(calendar, now)
    left = target.target_seconds - used
    if left <= 0 or used >= min(clock.warn_at, default=1.0) * target.target_seconds:
        return None
    mine = (_rank(clock), clock.started_at)
    ahead = sum(1 for other in stats.waiting if other < mine)
    work = max(stats.typical_seconds - used, 0.0)
    pace = stats.handled_recently / PACE_WINDOW.total_seconds()  # targets per second
    wait = ahead / pace if pace > 0 else (float("inf") if ahead else 0.0)
    needed = max(work, wait)
    if needed <= left:
        return None
    queue = clock.queue or "its queue"
    reason = (
        f"in {queue} the {target.name.replace('_', ' ')} takes {_human(stats.typical_seconds)}"
        f" (median of {stats.samples}); {ahead} ahead, {stats.handled_recently} handled in the"
        f" last {int(PACE_WINDOW.total_seconds() // 3600)} h: about {_human(needed)} needed,"
        f" {_human(left)} left"
    )
    return Risk(target.name, needed, left, reason)


def _rank(clock: SlaClock) -> int:
    order = ["highest", "high", "normal", "low", "lowest"]
    return order.index(clock.priority.value)


def _human(seconds: float) -> str:
    if seconds == float("inf"):
        return "an unknown time (nothing handled lately)"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def at_risk_by_target(clocks: Iterable[SlaClock]) -> dict[str, int]:
    """Running targets flagged at risk and not breached yet, by target name (what GET
    /v1/sla/at-risk lists); every target name is there, at zero when none is at risk."""
    counts = dict.fromkeys(TARGET_NAMES, 0)
    for clock in clocks:
        for t in clock.targets:
            if t.at_risk and t.state == "running" and not t.breached:
                counts[t.name] = counts.get(t.name, 0) + 1
    return counts
