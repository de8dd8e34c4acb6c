"""The predictor: once a minute (by the replica holding the scheduler's lease) the watched
clocks are read (those with a target running, and the recent history it learns from), and a
target that will probably be missed is announced as sla.at_risk once, ahead of the warnings;
like them, not while the calendar keeps quiet hours."""

from __future__ import annotations

import logging
from datetime import datetime

from shared.events.sla import SlaAtRisk, SlaTargetData
from shared.periodic import every

from .. import domain, metrics
from ..domain import SlaClock
from . import Change, Setup, SlaDeps, current_setup, rewrite_clock
from .scheduler import LEASE

log = logging.getLogger(__name__)
Stats = dict[tuple[str, str], domain.QueueStats]


async def predict(deps: SlaDeps) -> int:
    """Announce the targets newly at risk and report how many are at risk; returns how many
    were newly flagged."""
    now = deps.clock.now()
    if not await deps.timers.take_lease(deps.holder, now, LEASE):
        metrics.CLOCKS_AT_RISK.clear()  # the lease holder reports them, once for all replicas
        return 0
    clocks = await deps.store.watched_clocks()
    for stale in (c for c in clocks if not domain.watched(c, now)):
        await deps.store.unwatch(stale)  # no target runs and its history is old: unread now
    stats = domain.learn(clocks, now)
    at_risk = domain.at_risk_by_target(clocks)
    setup = await current_setup(deps)
    flagged = 0
    for clock in clocks:
        for target in clock.targets:
            if target.state != "running" or target.at_risk:
                continue
            # on what was read first: only a clock at risk is read again and rewritten
            if _risk(clock, target.name, stats, setup, now) and await _flag(
                clock, target.name, stats, deps
            ):
                flagged += 1
                at_risk[target.name] = at_risk.get(target.name, 0) + 1
    metrics.CLOCKS_AT_RISK.clear()
    for name, count in at_risk.items():
        metrics.CLOCKS_AT_RISK.labels(name).set(count)
    return flagged


def _risk(
    clock: SlaClock, name: str, stats: Stats, setup: Setup, now: datetime
) -> domain.Risk | None:
    target = clock.target(name)
    if target is None or target.at_risk:
        return None
    calendar = setup.calendar_of(clock.calendar_id)
    if clock.quiet_hours and domain.closed_until(calendar, now) is not None:
        return None  # flagged in a later round, once the calendar is open
    return domain.assess(clock, target, stats.get((clock.queue or "-", name)), calendar, now)


async def _flag(clock: SlaClock, name: str, stats: Stats, deps: SlaDeps) -> bool:
    now = deps.clock.now()

    def at_risk(current: SlaClock, setup: Setup) -> Change | None:
        risk = _risk(current, name, stats, setup, now)
        target = current.target(name)
        if risk is None or target is None:
            return None
        calendar = setup.calendar_of(current.calendar_id)
        used = target.used(calendar, now)
        data = SlaTargetData(
            ticket_id=current.ticket_id,
            number=current.number,
            target=name,
            due_at=target.due_at,
            elapsed_seconds=int(used),
            fraction=round(used / target.target_seconds, 4) if target.target_seconds else 1.0,
            reason=risk.reason,
        )
        event = SlaAtRisk.create(source="sla", subject=current.ticket_id, time=now, data=data)
        return domain.flagged(current, name, risk.reason), [event]

    written = await rewrite_clock(clock.ticket_id, deps, at_risk)
    return written is not None and bool(written.events)


async def run(deps: SlaDeps, interval: float) -> None:
    await every(interval, lambda: predict(deps), "an SLA prediction round")
