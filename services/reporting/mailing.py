"""Mailing the generated reports: one delivery per subscriber in the mail queue
(shared/deliveries.py), each attempt leased to one replica. A failed attempt is tried again
after a backoff; an attempt whose replica died is handed out again when its lease runs out. The
outcome is settled in the generated report first, then the delivery leaves the queue: a crash in
between hands the attempt out again, and it is found settled. A crash after the SMTP server took
the mail but before it was settled sends it again (at least once)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from shared.deliveries import Attempt, DeliveryQueue

from . import metrics
from .service import ReportingDeps, Smtp
from .store import MongoScheduleStore, settled

log = logging.getLogger(__name__)


def _parts(deps: ReportingDeps) -> tuple[MongoScheduleStore, DeliveryQueue]:
    assert deps.schedules is not None and deps.mail_queue is not None, "mailing needs its stores"
    return deps.schedules, deps.mail_queue


async def queue_mails(stored: dict[str, Any], deps: ReportingDeps) -> None:
    """A delivery per subscriber (once each, by its id), then the report notes they are queued."""
    schedules, queue = _parts(deps)
    now = deps.clock.now()
    for address in stored.get("subscribers", []):
        fields = {"report_id": stored["id"], "to": address}
        await queue.enqueue(f"{stored['id']}|{address}", fields, now)
    await schedules.mails_queued(stored["id"])


async def send_mails(deps: ReportingDeps) -> int:
    """Attempt every mail that is due; returns how many went out."""
    _, queue = _parts(deps)
    sent = 0
    while (attempt := await queue.take(deps.clock.now())) is not None:
        sent += await _attempt(attempt, deps)
    return sent


async def _attempt(attempt: Attempt, deps: ReportingDeps) -> bool:
    schedules, queue = _parts(deps)
    report_id, to = attempt.fields["report_id"], attempt.fields["to"]
    stored = await schedules.generated(report_id)
    if stored is None or settled(stored, to):  # gone, or settled by an attempt that then died
        await queue.done(attempt)
        return False
    if attempt.exhausted:  # every try was interrupted
        await _give_up(attempt, attempt.last_error or "attempts interrupted", deps)
        return False
    assert deps.smtp is not None, "scheduled reports are mailed through SMTP"
    try:
        await _send(_message(stored, to, deps.smtp.sender), deps.smtp)
    except (aiosmtplib.SMTPException, OSError) as exc:
        await _failed(attempt, f"{type(exc).__name__}: {exc}"[:300], deps)
        return False
    await _settle(attempt, "sent", None, deps)
    metrics.REPORT_MAILS.labels("sent").inc()
    return True


async def _send(message: EmailMessage, smtp: Smtp) -> None:
    await aiosmtplib.send(message, hostname=smtp.host, port=smtp.port, timeout=smtp.timeout_seconds)


async def _failed(attempt: Attempt, error: str, deps: ReportingDeps) -> None:
    _, queue = _parts(deps)
    report_id, to = attempt.fields["report_id"], attempt.fields["to"]
    if await queue.retry(attempt, deps.clock.now(), error):
        metrics.REPORT_MAILS.labels("retried").inc()
        log.warning("report %s to %s: attempt %d failed: %s", report_id, to, attempt.number, error)
        return
    if attempt.number < queue.policy.max_attempts:
        return  # the lease ran out meanwhile: the attempt is another replica's now
    await _give_up(attempt, error, deps)


async def _give_up(attempt: Attempt, error: str, deps: ReportingDeps) -> None:
    await _settle(attempt, "failed", error, deps)
    metrics.REPORT_MAILS.labels("failed").inc()
    log.error(
        "report %s to %s: not mailed after %d attempts: %s",
        attempt.fields["report_id"],
        attempt.fields["to"],
        attempt.number,
        error,
    )


async def _settle(attempt: Attempt, outcome: str, error: str | None, deps: ReportingDeps) -> None:
    schedules, queue = _parts(deps)
    await schedules.settle_mail(
        attempt.fields["report_id"],
        {
            "to": attempt.fields["to"],
            "outcome": outcome,
            "attempts": attempt.number,
            "error": error,
            "at": deps.clock.now(),
        },
    )
    await queue.done(attempt)


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
