"""Scheduled reports: for each schedule, the period just ended is made once (a keyed insert,
whichever replica gets there first), stored with its chart and CSV, announced as
report.generated, and mailed to the subscribers with both attached; a mail that fails is tried
again in later rounds (each attempt claimed by one replica), up to MAIL_ATTEMPTS."""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from shared.errors import NotFound
from shared.events.reporting import ReportGenerated, ReportGeneratedData

from .reports import info_of, to_csv
from .schedules import Schedule, ScheduleRequest, chart, last_period
from .service import ReportingDeps, report
from .store import GENERATED, MongoScheduleStore

log = logging.getLogger(__name__)
MAIL_ATTEMPTS = 5


def _schedules(deps: ReportingDeps) -> MongoScheduleStore:
    assert deps.schedules is not None, "scheduled reports need their store"
    return deps.schedules


async def list_schedules(deps: ReportingDeps) -> list[Schedule]:
    return [Schedule.model_validate(s) for s in await _schedules(deps).all()]


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
    """Make the reports whose period has ended; returns how many this call made."""
    made = 0
    now = deps.clock.now()
    for stored in await _schedules(deps).all():
        schedule = Schedule.model_validate(stored)
        start, end = last_period(schedule.every, now)
        report_id = f"{schedule.id}-{start:%Y%m%d}"
        if await _schedules(deps).generated(report_id) is not None:
            continue
        info, rows = await report(schedule.report, start, end, schedule.group_by, deps)
        generated = {
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
            made += await _schedules(deps).keep_generated(generated, [event])
    await send_mails(deps)
    return made


async def send_mails(deps: ReportingDeps) -> int:
    """Mail the stored reports to their subscribers; returns how many went out."""
    sent = 0
    for mail in await _schedules(deps).pending_mails():
        attempt = int(mail.get("attempts", 0)) + 1
        if not await _schedules(deps).claim_mail(mail["_id"], attempt):
            continue  # another replica is on it
        stored = await _schedules(deps).generated(mail["report_id"])
        if stored is None:
            continue
        smtp = deps.smtp
        assert smtp is not None, "scheduled reports are mailed through SMTP"
        try:
            await aiosmtplib.send(
                _message(stored, mail["to"], smtp.sender),
                hostname=smtp.host,
                port=smtp.port,
                timeout=smtp.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            status = "failed" if attempt >= MAIL_ATTEMPTS else "pending"
            error = f"{type(exc).__name__}: {exc}"[:300]
            await _schedules(deps).mail_tried(mail["_id"], attempt, status, error)
            log.warning(
                "report %s to %s: attempt %d failed: %s",
                mail["report_id"],
                mail["to"],
                attempt,
                error,
            )
            continue
        await _schedules(deps).mail_tried(mail["_id"], attempt, "sent")
        sent += 1
    return sent


def _message(stored: dict[str, Any], to: str, sender: str) -> EmailMessage:
    start, end = stored["period_from"], stored["period_to"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"{stored['title']}: {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"{stored['title']}",
        f"Period: {start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC, the end excluded)",
        f"Rows: {len(stored['rows'])}. Attached: the figures (CSV), the main series (chart).",
    ]
    message.set_content("\n".join(lines) + "\n")
    base = f"{stored['name']}_{start:%Y-%m-%d}_{end:%Y-%m-%d}"
    message.add_attachment(
        stored["csv"].encode(), maintype="text", subtype="csv", filename=f"{base}.csv"
    )
    message.add_attachment(
        bytes(stored["png"]), maintype="image", subtype="png", filename=f"{base}.png"
    )
    return message
