"""The backlog gauges: a periodic pass over the work items sets the open tickets by queue and
priority and the age of each queue's oldest open item."""

from __future__ import annotations

from shared.periodic import every

from .. import metrics
from ..domain import Backlog, backlog
from . import TriageDeps, current_config


async def measure_backlog(deps: TriageDeps) -> Backlog:
    """One round: read the open work, set the gauges; returns the figures."""
    config = await current_config(deps)
    found = backlog(await deps.store.open_work(), deps.clock.now(), [q.key for q in config.queues])
    # Cleared first so a queue or priority that left the data leaves the gauges too; no await
    # between clearing and setting, so a scrape never sees the gauges half set.
    metrics.OPEN_TICKETS.clear()
    for (queue, priority), count in found.open.items():
        metrics.OPEN_TICKETS.labels(queue, priority.value).set(count)
    metrics.BACKLOG_AGE.clear()
    for queue, seconds in found.oldest_seconds.items():
        metrics.BACKLOG_AGE.labels(queue).set(seconds)
    return found


async def gauges(deps: TriageDeps, interval: float) -> None:
    """The backlog rounds: run while the service runs."""
    await every(interval, lambda: measure_backlog(deps), "a backlog gauge round", at_once=True)
