"""The backlog in figures, for operations: open work items by queue and priority, and how long
the oldest of each queue has been waiting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.events.common import Priority, TicketStatus

from .lifecycle import DONE


@dataclass(frozen=True)
class WorkSummary:
    """What the backlog figures need of a work item."""

    queue: str
    priority: Priority
    status: TicketStatus
    created_at: datetime


@dataclass(frozen=True)
class Backlog:
    open: dict[tuple[str, Priority], int]
    """Open work items (not resolved, not closed) by (queue, priority)."""
    oldest_seconds: dict[str, float]
    """Age of each queue's oldest open work item; 0 for a queue with none."""


def backlog(items: Iterable[WorkSummary], now: datetime, queues: Iterable[str] = ()) -> Backlog:
    """The figures of `items` at `now`. Every queue of `queues` is there, at zero when it has no
    open work, so an emptied queue reads 0 instead of disappearing from the graphs."""
    known = list(queues)
    counts: dict[tuple[str, Priority], int] = {(q, p): 0 for q in known for p in Priority}
    oldest: dict[str, datetime] = {}
    for item in items:
        if item.status in DONE:
            continue
        key = (item.queue, item.priority)
        counts[key] = counts.get(key, 0) + 1
        if item.queue not in oldest or item.created_at < oldest[item.queue]:
            oldest[item.queue] = item.created_at
    ages = {q: 0.0 for q in known}
    ages.update({q: max(0.0, (now - at).total_seconds()) for q, at in oldest.items()})
    return Backlog(open=counts, oldest_seconds=ages)
