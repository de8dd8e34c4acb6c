"""Telling the customer: notifications are queued, sent over SMTP, retried, then settled."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib

from shared.clock import Clock
from shared.deliveries import Attempt, RetryPolicy
from shared.events import Event
from shared.events.common import Channel
from shared.events.intake import (
    NotificationData,
    NotificationFailed,
    NotificationSent,
    TicketCreated,
)
from shared.events.problems import AdvisoryData, AdvisoryPublished, ReleasePublished
from shared.outbox import OutboxRelay

from .. import metrics
from ..domain import Organization, covers, parse_number
from ..domain.notify import Notification, Recipient, compose, to_email
from ..domain.replies import our_message_id
from ..store import NOTIFICATIONS, NotificationStore
from . import IntakeDeps

log = logging.getLogger(__name__)
TOO_LATE = timedelta(days=1)
"""A notice is news at once; a day late (a replay of old events) it would only confuse."""
ADVISORY_TOO_LATE = timedelta(days=7)
"""An advisory stays news longer, unless the window it announces is over."""
MAX_ADDRESSED = 10_000
MAX_BACKOFF_SECONDS = 3600.0
ROUND = 200  # notifications tried at most in one round of the mailer
AUTOMATIC = frozenset({"acknowledgement", "reopened", "sla_breach"})
"""Notices no person decided to send: never sent to automated mail (RFC 3834)."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    attempts: int
    backoff_seconds: float
    timeout_seconds: float = 10.0

    def policy(self) -> RetryPolicy:
        """An attempt not settled within two SMTP exchanges was cut short: it may be retaken."""
        lease = timedelta(seconds=2 * self.timeout_seconds)
        return RetryPolicy(self.attempts, self.backoff_seconds, MAX_BACKOFF_SECONDS, lease)


async def queue_acknowledgement(event: TicketCreated, deps: IntakeDeps) -> None:
    """A new ticket's requester gets its number at once (keyed: queued once per ticket)."""
    data = event.data
    if not data.requester.email or _too_late(event, deps):
        return
    first = None  # an e-mail's receipt answers that e-mail, so the mail client threads them
    if data.channel is Channel.EMAIL:
        ticket = await deps.store.get_ticket(data.ticket_id)
        if ticket is not None and ticket.automated:
            log.info("no acknowledgement for %s: opened by %s mail", ticket.id, ticket.automated)
            return
        first = ticket.messages[0].mail_message_id if ticket and ticket.messages else None
    to = Recipient.of(data)
    now = deps.clock.now()
    token = _token(data.number, deps)
    ack_id = f"ack-{data.ticket_id}"
    note = compose(ack_id, "acknowledgement", to, {}, first, deps.mail_domain, now, token=token)
    await _queue(note, deps)


async def notify_requester(
    event: Event[Any],
    ticket_id: str,
    note_id: str,
    kind: str,
    context: dict[str, Any],
    deps: IntakeDeps,
) -> None:
    """A later notice on the ticket's life, in the requester's language, threaded under the
    receipt; keyed by `note_id`, so a redelivered event queues nothing twice."""
    if _too_late(event, deps):
        return
    ticket = await deps.store.get_ticket(ticket_id)
    if ticket is None or not ticket.requester.email:
        log.info("no %s notice for %s: no such ticket or no address", kind, ticket_id)
        return
    if ticket.automated and kind in AUTOMATIC:
        log.info("no %s notice for %s: opened by %s mail", kind, ticket_id, ticket.automated)
        return
    to = Recipient.of(ticket.details)
    token = _token(ticket.number, deps)
    ack = await deps.notes.get_notification(f"ack-{ticket.id}")  # threaded under the receipt
    receipt = ack.message_id if ack else our_message_id(f"ack-{ticket.id}", token, deps.mail_domain)
    now = deps.clock.now()
    note = compose(note_id, kind, to, context, receipt, deps.mail_domain, now, token=token)
    await _queue(note, deps)


def _token(number: str, deps: IntakeDeps) -> str | None:
    seq = parse_number(number)
    return deps.tokens.token(seq) if seq is not None else None


async def notify_advisory(event: AdvisoryPublished, deps: IntakeDeps) -> int:
    """An advisory or maintenance notice to every contact of the customers it addresses (by
    name, site or product; all customers when it names none); keyed per contact, so a
    redelivery sends nothing twice. Returns how many were queued now."""
    data = event.data
    now = deps.clock.now()
    if now - event.time > ADVISORY_TOO_LATE or (data.ends_at and data.ends_at < now):
        log.info("advisory %s not sent: it is over or too old", data.advisory_id)
        return 0
    orgs = await _audience(data, deps)
    context = {
        "title": data.title,
        "kind": data.kind,
        "body": data.body or data.title,
        "products": data.products,
        "starts_at": _minute(data.starts_at),
        "ends_at": _minute(data.ends_at),
    }
    queued = 0
    for org in orgs:
        if org is None:
            log.warning("advisory %s names an unknown organisation", data.advisory_id)
            continue
        for contact in org.contacts:
            if not contact.advisories:
                continue
            email = str(contact.email).lower()
            to = Recipient(email=email, name=contact.name, language=contact.language or "en")
            key = hashlib.sha256(email.encode()).hexdigest()[:16]
            note_id = f"advisory-{data.advisory_id}-{key}"
            note = compose(
                note_id, "advisory", to, context, None, deps.mail_domain, now, data.advisory_id
            )
            queued += await _queue(note, deps)
    return queued


async def _audience(data: AdvisoryData, deps: IntakeDeps) -> list[Organization | None]:
    """Everyone (also when nobody is named), else the organisations named and those whose
    contracts cover a site or a product (or "product version") named."""
    if data.everyone or not (data.organization_ids or data.sites or data.products):
        return list(await deps.store.list_organizations(MAX_ADDRESSED))
    chosen: list[Organization | None] = [
        await deps.store.get_organization(org_id) for org_id in data.organization_ids
    ]
    named = set(data.organization_ids)
    if data.sites or data.products:
        for org in await deps.store.list_organizations(MAX_ADDRESSED):
            if org.id not in named and any(
                covers(c, data.sites, data.products) for c in await deps.store.contracts_of(org.id)
            ):
                chosen.append(org)
    return chosen


def _minute(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else None


def _too_late(event: Event[Any], deps: IntakeDeps) -> bool:
    if deps.clock.now() - event.time <= TOO_LATE:
        return False
    log.info("no notice for %s (%s): the event is older than a day", event.subject, event.type)
    return True


async def _queue(note: Notification, deps: IntakeDeps) -> bool:
    if note.ticket_id:
        await deps.store.remember_mail_id(note.message_id, note.ticket_id)  # replies thread back
    if await deps.notes.queue_notification(note, deps.clock.now()):
        deps.mail_due.set()
        return True
    return False


class Mailer:
    """Sends what is due; each attempt is leased to one replica (shared.deliveries)."""

    def __init__(
        self,
        notes: NotificationStore,
        relay: OutboxRelay,
        clock: Clock,
        smtp: SmtpConfig,
        due: asyncio.Event,
    ) -> None:
        self._notes = notes
        self._relay = relay
        self._clock = clock
        self._smtp = smtp
        self._due = due

    async def run(self) -> None:
        while True:
            self._due.clear()  # before the round: a wake-up during it starts the next at once
            try:
                await self.send_due()
            except Exception:  # the queue keeps every entry: the next round retries it
                log.exception("mailer round failed")
            try:  # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                async with asyncio.timeout(1.0):
                    await self._due.wait()
            except TimeoutError:
                pass

    async def send_due(self) -> int:
        """Try each due notification once; returns how many were sent."""
        sent = 0
        tried: list[str] = []
        while len(tried) < ROUND:
            taken = await self._notes.take(self._clock.now(), tried)
            if taken is None:
                break
            attempt, note = taken
            tried.append(attempt.id)
            if note is None or note.status != "pending":  # never recorded, or settled already
                await self._notes.queue.done(attempt)
            elif attempt.exhausted:  # interrupted attempts used them up
                error = attempt.last_error or "attempts interrupted"
                failed = {"status": "failed", "attempts": attempt.number - 1, "last_error": error}
                await self._settle(attempt, note.model_copy(update=failed), NotificationFailed)
            else:
                sent += await self._attempt(attempt, note)
        return sent

    async def _attempt(self, attempt: Attempt, note: Notification) -> int:
        now = self._clock.now()
        tried = note.model_copy(update={"attempts": attempt.number})
        try:
            await aiosmtplib.send(
                to_email(note, self._smtp.sender, now),
                hostname=self._smtp.host,
                port=self._smtp.port,
                timeout=self._smtp.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            tried = tried.model_copy(update={"last_error": error})
            if await self._notes.queue.retry(attempt, self._clock.now(), error):
                await self._notes.record_attempt(tried)
                metrics.NOTIFICATIONS.labels(note.kind, "retry").inc()
            else:
                failed = tried.model_copy(update={"status": "failed"})
                await self._settle(attempt, failed, NotificationFailed)
            return 0
        done = {"status": "sent", "sent_at": now, "last_error": None}
        await self._settle(attempt, tried.model_copy(update=done), NotificationSent)
        return 1

    async def _settle(
        self,
        attempt: Attempt,
        note: Notification,
        kind: type[NotificationSent] | type[NotificationFailed],
    ) -> None:
        event = kind.create(
            source="intake",
            subject=note.ticket_id or note.advisory_id or note.id,
            time=self._clock.now(),
            data=_data(note),
        )
        async with self._relay.writing(NOTIFICATIONS, note.id):
            await self._notes.settle(attempt, note, [event])
        metrics.NOTIFICATIONS.labels(note.kind, note.status).inc()


def _data(note: Notification, reason: str | None = None) -> NotificationData:
    return NotificationData(
        notification_id=note.id,
        ticket_id=note.ticket_id,
        kind=note.kind,
        recipient=note.recipient,
        message_id=note.message_id,
        attempts=note.attempts,
        error=note.last_error,
        reason=reason,
    )


async def mark_bounced(note: Notification, status: str, deps: IntakeDeps) -> None:
    """A notice the recipient's server returned: failed, with notification.failed (reason
    bounced), once however often the bounce arrives."""
    if note.status == "failed":
        return
    failed = note.model_copy(update={"status": "failed", "last_error": f"bounced: {status}"[:500]})
    event = NotificationFailed.create(
        source="intake",
        subject=note.ticket_id or note.id,
        time=deps.clock.now(),
        data=_data(failed, "bounced"),
    )
    async with deps.relay.writing(NOTIFICATIONS, note.id):
        await deps.notes.mark_failed(failed, [event])
    metrics.NOTIFICATIONS.labels(note.kind, "bounced").inc()


async def notify_release(event: ReleasePublished, deps: IntakeDeps) -> None:
    """The requester of every ticket that waited for the release hears it is out (once)."""
    data = event.data
    context = {
        "version": data.version,
        "product": data.product,
        "released_on": data.released_on.isoformat() if data.released_on else "",
    }
    for ticket_id in data.ticket_ids:
        note_id = f"release-{data.version}-{ticket_id}"
        await notify_requester(event, ticket_id, note_id, "fix_released", context, deps)
