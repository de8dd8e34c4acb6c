"""The scheduler: one replica at a time (a lease) reads the timers of each second gone by and
checks those clocks; a killed replica's lease lapses and another takes over from the cursor, so
after a restart overdue clocks are checked at once. Announcements are exactly once per target
because each is part of a compare-and-set clock revision: a clock checked twice (two replicas
overlapping as a lease changes hands) announces nothing the second time."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from .. import domain, metrics
from ..domain import SlaClock
from . import Change, Setup, SlaDeps, announced, rewrite_clock

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=5)
SECOND = timedelta(seconds=1)
CHUNK = timedelta(seconds=1000)  # seconds read at a time (one `$in` of the timer store)
MAX_STEP = timedelta(hours=6)  # caught up per round after downtime; the next round goes on


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


async def tick(deps: SlaDeps) -> int:
    """Check every clock with a timer in the seconds gone by; returns how many were checked."""
    now = deps.clock.now()
    if not await deps.timers.take_lease(deps.holder, now, LEASE):
        return 0
    present = _whole(now) - SECOND  # only whole seconds behind us: new timers land at now or later
    at = await deps.timers.cursor()
    if at is None:  # the first round ever: timers start from here
        await deps.timers.move_cursor(present, present)
        return 0
    end = min(present, at + MAX_STEP)
    checked = 0
    while at < end:
        upto = min(end, at + CHUNK)
        for ticket_id in await deps.timers.due(at, upto, present):
            await fire(ticket_id, deps)
            checked += 1
        await deps.timers.move_cursor(at, upto)
        at = upto
        if at < end and not await deps.timers.take_lease(deps.holder, deps.clock.now(), LEASE):
            break  # this replica was too slow and another took over: it goes on from the cursor
    return checked


async def fire(ticket_id: str, deps: SlaDeps) -> SlaClock | None:
    now = deps.clock.now()

    def due(clock: SlaClock, setup: Setup) -> Change | None:
        calendar = setup.calendar_of(clock.calendar_id)
        after, happened = domain.check(clock, calendar, now)
        if not happened and after.next_check_at == clock.next_check_at:
            return None
        return after, announced(clock, happened, now)

    written = await rewrite_clock(ticket_id, deps, due)
    if written is None:
        return None
    checked_at = written.before.next_check_at
    if checked_at is not None and checked_at <= now:
        metrics.FIRE_DELAY.observe((now - checked_at).total_seconds())
    return written.after


async def run(deps: SlaDeps, interval: float) -> None:
    """The scheduler loop, for as long as the service runs."""
    while True:
        try:
            await tick(deps)
        except Exception:  # an outage: the cursor stays, the next round catches up
            log.exception("SLA scheduler round failed")
        await asyncio.sleep(interval)
