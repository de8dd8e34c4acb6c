"""Clocks that cannot be planned are kept and announced, never dropped: when a running target
loses its due time (or starts without one), sla.clock_unplanned goes out with the clock's write,
and once written it is counted and logged; when such targets get a due time again,
sla.clock_replanned brings the due times (the worklists order by them). Pure but for `report`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared.events import Event
from shared.events.sla import (
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockStartedData,
    SlaClockUnplanned,
    SlaClockUnplannedData,
    SlaTarget,
    SlaUnplannedTarget,
)

from .. import metrics
from ..domain import SlaClock, TargetClock

log = logging.getLogger(__name__)
DUE_TIMES = (SlaClockReplanned, SlaClockResumed)  # the events that bring a clock's due times


def alerts(
    before: SlaClock | None,
    after: SlaClock,
    now: datetime,
    events: list[Event[Any]],
    correlation_id: str | None = None,
) -> list[Event[Any]]:
    """The events to add to `events` (those the change already announces) for the targets
    that lost or regained their due time from `before` to `after`."""
    added: list[Event[Any]] = []
    was = {t.name: t for t in before.targets} if before is not None else {}
    # once per loss: a target paused or stopped keeps `planned` false until planned again
    lost = [t for t in after.targets if _unplanned(t) and _had_plan(was.get(t.name))]
    if lost:
        data = SlaClockUnplannedData(
            ticket_id=after.ticket_id,
            number=after.number,
            policy_id=after.policy_id,
            calendar_id=after.calendar_id,
            targets=[
                SlaUnplannedTarget(
                    name=t.name, target_seconds=t.target_seconds, reason=t.unplanned_reason or ""
                )
                for t in lost
            ],
        )
        added.append(_create(SlaClockUnplanned, after, now, data, correlation_id))
    regained = [t for t in after.targets if t.due_at and not _had_plan(was.get(t.name))]
    if regained and not any(isinstance(e, DUE_TIMES) for e in events):
        added.append(_create(SlaClockReplanned, after, now, planned_data(after), correlation_id))
    return added


def report(events: list[Event[Any]]) -> None:
    """Count and log the unplanned targets of events just written (once: after the write)."""
    for event in events:
        if not isinstance(event, SlaClockUnplanned):
            continue
        data = event.data
        for target in data.targets:
            metrics.UNPLANNED.labels(target.name).inc()
        log.error(
            "SLA clock of ticket %s on calendar %s, policy %s: no due time for %s",
            data.ticket_id,
            data.calendar_id,
            data.policy_id,
            "; ".join(f"{t.name} ({t.reason})" for t in data.targets),
        )


def targets_data(clock: SlaClock) -> list[SlaTarget]:
    return [
        SlaTarget(name=t.name, target_seconds=t.target_seconds, due_at=t.due_at)
        for t in clock.targets
    ]


def planned_data(clock: SlaClock) -> SlaClockStartedData:
    return SlaClockStartedData(
        ticket_id=clock.ticket_id,
        number=clock.number,
        policy_id=clock.policy_id,
        service_level=clock.service_level,
        priority=clock.priority,
        calendar_id=clock.calendar_id,
        targets=targets_data(clock),
    )


def _unplanned(target: TargetClock) -> bool:
    return target.state == "running" and not target.planned


def _had_plan(target: TargetClock | None) -> bool:
    return target is None or target.planned


def _create(
    kind: type[SlaClockUnplanned] | type[SlaClockReplanned],
    clock: SlaClock,
    now: datetime,
    data: Any,
    correlation_id: str | None,
) -> Event[Any]:
    return kind.create(
        source="sla", subject=clock.ticket_id, time=now, data=data, correlation_id=correlation_id
    )
