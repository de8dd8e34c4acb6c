"""Scheduled reports: for each schedule, the period just ended is made once (a keyed insert,
whichever replica gets there first), stored with its chart and CSV, announced as
report.generated, and its mails queued, one delivery per subscriber (mailing.py sends them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.errors import NotFound
from shared.events.reporting import ReportGenerated, ReportGeneratedData
from shared.paging import Position, Slice

from .mailing import queue_mails, send_mails
from .reports import ReportInfo, Row, info_of, to_csv
from .schedules import Schedule, ScheduleRequest, chart, last_period
from .service import ReportingDeps, report
from .store import GENERATED, MongoScheduleStore, mails_unqueued


def _schedules(deps: ReportingDeps) -> MongoScheduleStore:
    assert deps.schedules is not None, "scheduled reports need their store"
    return deps.schedules


async def list_schedules(
    deps: ReportingDeps, limit: int, after: Position | None
) -> Slice[Schedule]:
    found = await _schedules(deps).page(limit, after)
    return Slice([Schedule.model_validate(s) for s in found.items], found.more_after)


async def add_schedule(request: ScheduleRequest, by: str, deps: ReportingDeps) -> Schedule:
    info_of(request.report, request.group_by, field="report")
    schedule = Schedule(
        **request.model_dump(), id=uuid.uuid4().hex[:12], created_by=by, created_at=deps.clock.now()
    )
    await _schedules(deps).add(schedule.model_dump(mode="python"))
    return schedule


async def remove_schedule(schedule_id: str, deps: ReportingDeps) -> None:
    if not await _schedules(deps).remove(schedule_id):
        raise NotFound(f"no report schedule {schedule_id}")


async def generate_due(deps: ReportingDeps) -> int:
    """One round: make the reports whose period has ended, then send the mails that are due;
    returns how many reports this call made."""
    made = await make_due(deps)
    await send_mails(deps)
    return made


async def make_due(deps: ReportingDeps) -> int:
    """Make the reports whose period has ended and queue their mails; returns how many this
    call made (another replica may have made the others)."""
    made = 0
    for stored in await _schedules(deps).all():
        made += await _make(Schedule.model_validate(stored), deps)
    return made


async def _make(schedule: Schedule, deps: ReportingDeps) -> bool:
    now = deps.clock.now()
    start, end = last_period(schedule.every, now)
    report_id = f"{schedule.id}-{start:%Y%m%d}"
    existing = await _schedules(deps).generated(report_id)
    if existing is not None:
        if mails_unqueued(existing):  # made, then a crash before its mails were queued
            await queue_mails(existing, deps)
        return False
    info, rows = await report(schedule.report, start, end, schedule.group_by, deps)
    generated = _generated(report_id, schedule, info, rows, now)
    event = ReportGenerated.create(
        source="reporting",
        subject=report_id,
        time=now,
        data=ReportGeneratedData(
            report_id=report_id, name=schedule.report, period_from=start, period_to=end
        ),
    )
    assert deps.relay is not None
    async with deps.relay.writing(GENERATED, report_id):
        kept = await _schedules(deps).keep_generated(generated, [event])
    if kept:
        await queue_mails(generated, deps)
    return kept


def _generated(
    report_id: str, schedule: Schedule, info: ReportInfo, rows: list[Row], now: datetime
) -> dict[str, Any]:
    start, end = last_period(schedule.every, now)
    return {
        "id": report_id,
        "schedule_id": schedule.id,
        "name": schedule.report,
        "title": info.title,
        "period_from": start,
        "period_to": end,
        "group_by": schedule.group_by,
        "columns": info.columns,
        "rows": rows,
        "csv": to_csv(info, rows),
        "png": chart(info, rows, start, end),
        "subscribers": [str(a) for a in schedule.subscribers],
        "generated_at": now,
    }
