"""The scheduler: one replica at a time (a lease) reads the timers of each second gone by and
checks those clocks; a killed replica's lease lapses and another takes over from the cursor, so
after a restart overdue clocks are checked at once. Announcements are exactly once per target
because each is part of a claimed clock revision."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from .. import domain, metrics
from ..domain import SlaClock
from . import Change, Setup, SlaDeps, announced, change_clock

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=5)
SECOND = timedelta(seconds=1)


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


async def tick(deps: SlaDeps) -> int:
    """Check every clock with a timer in the seconds gone by; returns how many were checked."""
    now = deps.clock.now()
    if not await deps.timers.take_lease(deps.holder, now, LEASE):
        return 0
    last = _whole(now) - SECOND  # only whole seconds behind us: new timers land at now or later
    at = (await deps.timers.cursor() or last) + SECOND
    checked = 0
    minute_checked: datetime | None = None
    while at <= last:
        minute = at.replace(second=0)
        whole_minute_past = minute + timedelta(minutes=1) <= last + SECOND
        if minute != minute_checked and at == minute and whole_minute_past:
            minute_checked = minute
            if not await deps.timers.minute_has_timers(minute):
                at = minute + timedelta(minutes=1)
                continue
        for ticket_id in await deps.timers.timers_at(at):
            await fire(ticket_id, deps)
            checked += 1
        at += SECOND
    await deps.timers.move_cursor(last)
    return checked


async def fire(ticket_id: str, deps: SlaDeps) -> SlaClock | None:
    now = deps.clock.now()

    def due(clock: SlaClock, setup: Setup) -> Change | None:
        if clock.next_check_at is not None and clock.next_check_at <= now:
            metrics.FIRE_DELAY.observe((now - clock.next_check_at).total_seconds())
        calendar = setup.calendars.get(clock.calendar_id) or setup.calendars["24x7"]
        after, happened = domain.check(clock, calendar, now)
        if not happened and after.next_check_at == clock.next_check_at:
            return None
        return after, announced(clock, happened, now)

    return await change_clock(ticket_id, deps, due)


PURGE_EVERY = timedelta(hours=1)
KEEP = timedelta(days=1)


async def run(deps: SlaDeps, interval: float) -> None:
    """The scheduler loop, for as long as the service runs; hourly it drops old timers."""
    purged_at = deps.clock.now()
    while True:
        try:
            await tick(deps)
            now = deps.clock.now()
            if now - purged_at >= PURGE_EVERY:
                purged_at = now
                await deps.timers.purge(now - KEEP)
                await deps.store.purge_claims()
        except Exception:  # an outage: the cursor stays, the next round catches up
            log.exception("SLA scheduler round failed")
        await asyncio.sleep(interval)
