"""Inbound e-mail: a new ticket, a reply joining its ticket, or a quarantined message."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from uuid import uuid4

from shared.auth import Principal
from shared.errors import Conflict, DomainError, NotFound
from shared.events.common import AuthorType, Channel, Person, TicketStatus, Visibility
from shared.events.intake import InboundQuarantined, InboundQuarantinedData

from .. import metrics
from ..domain import (
    AttachmentInfo,
    Message,
    OpenTicketRequest,
    ReleaseRequest,
    Ticket,
    parse_number,
)
from ..domain.mail import (
    InboundMail,
    UnreadableMail,
    automated,
    bounce_status,
    new_text,
    number_in_text,
    parse_mail,
    referenced_number,
    sender_and_subject,
)
from ..domain.notify import Notification
from ..domain.replies import TOKEN_SUFFIX, auth_verdict, content_digest
from ..store import QUARANTINE, attachment_blob, held_blob, original_blob
from . import IntakeDeps, find_ticket, record_ticket
from .conversation import append
from .notify import mark_bounced

SUBJECT_LIMIT = 300
NOTICES_READ = 200  # of a ticket's notices, the latest sent of which a bounce is taken for
BOUNCE_TEXT = 5_000  # of a bounce's text, kept in the ticket's internal note
SIGHTING_LEASE = timedelta(minutes=2)
"""A delivery that claimed its message and neither finished nor failed within this (a crash)
leaves it to the next delivery."""
CLOSED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class Accepted:
    ticket_id: str
    number: str
    action: str  # created | appended | reopened | duplicate (this message was received before)
    message_id_reused: bool = False  # a different message came before under its Message-ID


@dataclass(frozen=True)
class Quarantined:
    quarantine_id: str
    reason: str
    kind: str = "unreadable"


async def receive_email(
    raw: bytes, deps: IntakeDeps, envelope_to: Sequence[str] = ()
) -> Accepted | Quarantined:
    """Every message is kept: it feeds a ticket, or waits in quarantine with the reason.
    `envelope_to`: the addresses SMTP delivered it to (where a reply token may be)."""
    if len(raw) > deps.max_mail_bytes:
        sender, subject = await asyncio.to_thread(sender_and_subject, raw)
        oversized = f"oversized ({len(raw)} bytes, the limit is {deps.max_mail_bytes})"
        return await quarantine(raw, oversized, sender, subject, deps, "oversized")
    try:
        mail = await _parsed(raw, deps)
    except UnreadableMail as exc:  # held with whatever its headers still tell
        sender, subject = await asyncio.to_thread(sender_and_subject, raw)
        return await quarantine(raw, str(exc), sender, subject, deps)
    if envelope_to:
        delivered = [a.strip().lower() for a in envelope_to if "@" in a]
        mail = replace(mail, recipients=list(dict.fromkeys([*mail.recipients, *delivered])))
    sighting = await _sighting(mail, deps)
    if not isinstance(sighting, Sighting):
        return sighting  # the same message, received before
    try:
        outcome = await _receive(mail, raw, sighting, deps)
    except BaseException:
        await deps.store.unclaim_sighting(sighting.key)  # a retry of this delivery goes through
        raise
    if isinstance(outcome, Quarantined):
        await deps.store.settle_sighting(sighting.key, quarantined=outcome.quarantine_id)
        return outcome
    await deps.store.settle_sighting(sighting.key, ticket_id=outcome.ticket_id)
    return replace(outcome, message_id_reused=sighting.message_id_reused)


async def _receive(
    mail: InboundMail, raw: bytes, sighting: Sighting, deps: IntakeDeps
) -> Accepted | Quarantined:
    auto = automated(mail, deps.mail_domain, deps.spam)
    if auto is not None and auto.kind == "bounce":
        attached = await _bounced(mail, raw, deps)
        if attached is not None:
            return attached
    if auto is not None and deps.automated_mail.get(auto.kind) != "ticket":
        return await quarantine(raw, auto.reason, mail.sender_email, mail.subject, deps, auto.kind)
    kind = auto.kind if auto else None
    reused = sighting.message_id_reused
    thread = await _thread_of(mail, deps)
    refusal = await _refusal(mail, thread, deps) if thread else None
    if thread is not None and refusal is not None:
        if deps.stranger_mail == "quarantine":
            sender, subject = mail.sender_email, mail.subject
            return await quarantine(raw, refusal, sender, subject, deps, "stranger")
        return await _open(mail, raw, thread.ticket, deps, guarded=True, reused=reused, kind=kind)
    if thread is not None:
        return await _append(mail, raw, thread.ticket, deps, reused=reused)
    return await _open(mail, raw, None, deps, guarded=True, reused=reused, kind=kind)


@dataclass(frozen=True)
class Sighting:
    """This delivery holds the claim on its message (`key`) while it is received."""

    key: str
    message_id_reused: bool = False


class MailInProgress(Conflict):
    """The same message is being received by another delivery right now: try again soon."""


async def _sighting(mail: InboundMail, deps: IntakeDeps) -> Sighting | Accepted | Quarantined:
    """A duplicate is the same message: the same Message-ID and the same content (sender,
    date, subject, text, files); without a Message-ID, the same content within the window.
    A different message under a Message-ID seen before is received, and flagged."""
    digest = content_digest(mail)
    now = deps.clock.now()
    if mail.message_id:
        named = hashlib.sha256(mail.message_id.encode("utf-8", "replace")).hexdigest()
        key, expiry = f"same:{named}:{digest}", None
    else:
        key, expiry = f"content:{digest}", timedelta(hours=deps.duplicate_window_hours)
    earlier = await deps.store.claim_sighting(key, now, SIGHTING_LEASE, expiry)
    if earlier is not None:
        if earlier.get("ticket_id"):
            ticket = await deps.store.get_ticket(str(earlier["ticket_id"]))
            if ticket is not None:
                metrics.INBOUND_MAIL.labels("duplicate").inc()
                return Accepted(ticket.id, ticket.number, "duplicate")
        if earlier.get("quarantine_id"):
            metrics.INBOUND_MAIL.labels("duplicate").inc()
            held = await deps.store.get_quarantined(str(earlier["quarantine_id"])) or {}
            reason = str(held.get("reason") or "held before")
            return Quarantined(str(earlier["quarantine_id"]), reason, str(held.get("kind")))
        raise MailInProgress("the same message is being received right now: try again shortly")
    if not mail.message_id:
        return Sighting(key)
    first = await deps.store.first_sight(mail.message_id, digest)
    if first is None:
        return Sighting(key)
    if "digest" not in first:  # seen before digests were kept: the Message-ID alone tells
        known = await deps.store.ticket_for_mail_id(mail.message_id)
        ticket = await deps.store.get_ticket(known) if known else None
        if ticket is not None:
            await deps.store.settle_sighting(key, ticket_id=ticket.id)
            metrics.INBOUND_MAIL.labels("duplicate").inc()
            return Accepted(ticket.id, ticket.number, "duplicate")
    return Sighting(key, message_id_reused=first.get("digest") != digest)


async def release(
    item_id: str, request: ReleaseRequest, user: Principal, deps: IntakeDeps
) -> Accepted:
    """An agent lets a held message through: into the ticket named, or along the normal path
    (where the sender check still applies). Each message is released once."""
    item = await deps.store.get_quarantined(item_id)
    if item is None:
        raise NotFound(f"no quarantined message {item_id}")
    target = await find_ticket(request.ticket, user, deps) if request.ticket else None
    raw = await _held_bytes(item, deps)
    try:
        mail = await _parsed(raw, deps)
    except UnreadableMail:
        sender = request.requester or item.get("sender")
        if not sender:
            raise DomainError(
                "the message names no sender that can be read: give the requester"
            ) from None
        mail = InboundMail(
            message_id=None,
            sender_email=str(sender).lower(),
            sender_name=None,
            subject=item.get("subject") or "(unreadable message)",
            text=raw.decode("utf-8", "replace")[:50_000],
        )
    now = deps.clock.now()
    if not await deps.store.claim_release(item_id, user.sub, now):
        raise Conflict(f"quarantined message {item_id} was released already")
    try:
        outcome = await _let_through(mail, raw, target, deps)
    except Exception:
        await deps.store.unclaim_release(item_id)  # it did not go through: the agent may retry
        raise
    await deps.store.mark_released(item_id, outcome.ticket_id, user.sub, now)
    metrics.INBOUND_MAIL.labels("released").inc()
    return outcome


async def _parsed(raw: bytes, deps: IntakeDeps) -> InboundMail:
    """Parsing takes time linear in the bytes, up to seconds for the largest mail: it runs in
    a worker thread so the event loop (HTTP, SMTP, the consumers) keeps serving meanwhile."""
    limits = deps.file_limits
    return await asyncio.to_thread(
        parse_mail, raw, max_depth=limits.max_mime_depth, max_parts=limits.max_mime_parts
    )


async def _let_through(
    mail: InboundMail, raw: bytes, target: Ticket | None, deps: IntakeDeps
) -> Accepted:
    """A released message: into the target, or the ticket it answers if the sender may write
    there, or a new ticket, never held again."""
    answered = None
    if target is None:
        thread = await _thread_of(mail, deps)
        answered = thread.ticket if thread else None
        if thread is not None and await _refusal(mail, thread, deps) is None:
            target = thread.ticket
    if target is not None:
        return await _append(mail, raw, target, deps)
    outcome = await _open(mail, raw, answered, deps, guarded=False)
    assert isinstance(outcome, Accepted)  # unguarded: nothing is held
    return outcome


async def _append(
    mail: InboundMail, raw: bytes, ticket: Ticket, deps: IntakeDeps, *, reused: bool = False
) -> Accepted:
    """The reply joins its ticket; triage reopens a resolved or closed one (its status reaches
    us through its events), and the sender is told what will happen."""
    message = await _keep(mail, raw, deps, reused)
    status = await deps.store.status_of(ticket.id)
    reply = message.model_copy(update={"body": new_text(mail.text)})
    intent = await append(ticket, reply, deps, status)
    if intent == "confirms":
        action = "confirmed"
    elif intent == "unclear":
        action = "appended"
    else:
        action = "reopened" if status in CLOSED_STATUSES else "appended"
    await _remember(mail, ticket.id, deps)
    metrics.INBOUND_MAIL.labels(action).inc()
    return Accepted(ticket.id, ticket.number, action)


async def _open(
    mail: InboundMail,
    raw: bytes,
    linked: Ticket | None,
    deps: IntakeDeps,
    *,
    guarded: bool,
    reused: bool = False,
    kind: str | None = None,
) -> Accepted | Quarantined:
    """A new ticket (linked to the one a stranger wrote into). Guarded: a sender opening more
    tickets in an hour than the storm limit allows is held instead, so a mail loop with a
    responder that ignores every convention cannot flood the helpdesk."""
    if guarded and deps.storm_limit:
        hour = deps.clock.now().strftime("%Y-%m-%dT%H")
        opened = await deps.store.count_opened(mail.sender_email, hour)
        if opened > deps.storm_limit:
            why = (
                f"mail storm: more than {deps.storm_limit} new tickets from "
                f"{mail.sender_email} within the hour"
            )
            return await quarantine(raw, why, mail.sender_email, mail.subject, deps, "storm")
    message = await _keep(mail, raw, deps, reused)
    request = OpenTicketRequest(
        subject=(mail.subject or "(no subject)")[:SUBJECT_LIMIT],
        description=mail.text[:50_000],
        channel=Channel.EMAIL,
    )
    created = await record_ticket(
        request,
        message.author,
        None,
        None,
        deps,
        first=message,
        linked_ticket_id=linked.id if linked else None,
        automated=kind,
    )
    await _remember(mail, created.id, deps)
    metrics.INBOUND_MAIL.labels("created").inc()
    return Accepted(created.id, created.number, "created")


async def quarantine(
    raw: bytes,
    reason: str,
    sender: str | None,
    subject: str | None,
    deps: IntakeDeps,
    kind: str = "unreadable",
) -> Quarantined:
    """Hold a message with its reason and its kind (what GET /v1/inbound/quarantine?reason=
    filters by): unreadable, oversized, ours, spam, bounce, auto_reply, bulk, list,
    null_sender, stranger or storm."""
    item_id = str(uuid4())
    now = deps.clock.now()
    event = InboundQuarantined.create(
        source="intake",
        subject=item_id,
        time=now,
        data=InboundQuarantinedData(
            quarantine_id=item_id, reason=reason, sender=sender, subject=subject
        ),
    )
    item = {
        "_id": item_id,
        "reason": reason,
        "kind": kind,
        "sender": sender,
        "subject": subject,
        "received_at": now,
        "size": len(raw),
        "released": False,
    }
    await deps.blobs.put_blob(held_blob(item_id), raw, {"kind": "quarantined"})
    async with deps.relay.writing(QUARANTINE, item_id):
        await deps.store.quarantine(item, [event])
    metrics.INBOUND_MAIL.labels("quarantined").inc()
    return Quarantined(item_id, reason, kind)


async def _bounced(mail: InboundMail, raw: bytes, deps: IntakeDeps) -> Accepted | None:
    """A bounce of one of our notices: kept on its ticket as an internal note, and the notice
    marked failed; None when it names nothing of ours (it is then held as a bounce)."""
    note, ticket = await _bounced_notice(mail, deps)
    if ticket is None:
        return None
    status = bounce_status(mail)
    what = f"the {note.kind} notice to {note.recipient}" if note else "a notice on this ticket"
    said = f": {status}" if status else ""
    kept = await _keep(mail, raw, deps)
    report = kept.model_copy(
        update={
            "author_type": AuthorType.SYSTEM,
            "author": Person(email=mail.sender_email, name="Mail delivery system"),
            "visibility": Visibility.INTERNAL,
            "body": f"Delivery of {what} failed{said}.\n\n{mail.text[:BOUNCE_TEXT]}".strip(),
        }
    )
    await append(ticket, report, deps)
    if note is not None:
        await mark_bounced(note, status or "no status given", deps)
    metrics.INBOUND_MAIL.labels("attached_to_bounce").inc()
    return Accepted(ticket.id, ticket.number, "attached_to_bounce")


async def _bounced_notice(
    mail: InboundMail, deps: IntakeDeps
) -> tuple[Notification | None, Ticket | None]:
    """The notice that bounced: by the original's Message-ID (ours), else the ticket by our
    reply token or its number in what the bounce quotes, and its latest notice sent."""
    for mail_id in mail.embedded_ids:
        local, _, domain = mail_id.rpartition("@")
        if domain.lower() not in deps.reply_domains:
            continue
        note = await deps.notes.get_notification(TOKEN_SUFFIX.sub("", local))
        ticket = await deps.store.get_ticket(note.ticket_id) if note and note.ticket_id else None
        if ticket is not None:
            return note, ticket
    seqs = deps.tokens.found_in_text(" ".join([*mail.embedded_ids, mail.text]))
    number = number_in_text(mail)
    named = parse_number(number) if number else None
    for seq in [*seqs, *([named] if named is not None else [])]:
        ticket = await deps.store.get_ticket_by_seq(seq)
        if ticket is not None:
            notes = await deps.notes.notifications_of("ticket_id", ticket.id, NOTICES_READ)
            latest = [n for n in notes.items if n.status == "sent"][-1:]
            return (latest[0] if latest else None), ticket
    return None, None


@dataclass(frozen=True)
class Thread:
    ticket: Ticket
    proven: bool
    """By a valid reply token, rather than by a number or a Message-ID anyone may copy."""


async def _thread_of(mail: InboundMail, deps: IntakeDeps) -> Thread | None:
    """The ticket a message answers: by a reply token of ours (in the address it was sent to
    or the Message-IDs it answers), else by [HD-nnnnnn] in the subject, else by the messages
    it names (In-Reply-To, References) that we know."""
    for seq in deps.tokens.found_in(mail, deps.reply_domains):
        ticket = await deps.store.get_ticket_by_seq(seq)
        if ticket is not None:
            return Thread(ticket, proven=True)
    number = referenced_number(mail)
    named = parse_number(number) if number else None
    if named is not None:
        ticket = await deps.store.get_ticket_by_seq(named)
        if ticket is not None:
            return Thread(ticket, proven=False)
    for mail_id in reversed(mail.references):
        ticket_id = await deps.store.ticket_for_mail_id(mail_id)
        found = await deps.store.get_ticket(ticket_id) if ticket_id else None
        if found is not None:
            return Thread(found, proven=False)
    return None


async def _refusal(mail: InboundMail, thread: Thread, deps: IntakeDeps) -> str | None:
    """Why the message may not join the ticket it names (None: it may). A reply token proves
    the sender received our notice; without one, the sender must be a participant, and where
    the receiving server recorded SPF, DKIM and DMARC results, one must pass for its domain."""
    if thread.proven:
        return None
    ticket = thread.ticket
    participants = {ticket.requester.email} | {m.author.email for m in ticket.messages}
    if mail.sender_suspect:
        return f"the reply to {ticket.number} has no token and its sender address is faked"
    if mail.sender_email not in {p.lower() for p in participants if p}:
        return f"sender is not a participant of {ticket.number} and the reply has no token"
    verdict = auth_verdict(mail.auth_results, mail.sender_email, deps.trusted_authserv_ids)
    if verdict == "fail":
        return (
            f"the reply to {ticket.number} has no token and the receiving server found no "
            "SPF, DKIM or DMARC pass for the sender's domain"
        )
    return None


async def _keep(mail: InboundMail, raw: bytes, deps: IntakeDeps, reused: bool = False) -> Message:
    """The message as it joins a ticket, its files and the original stored first: a crash
    before the ticket's write leaves only unreferenced bytes, never a reference to nothing."""
    message_id = str(uuid4())
    files: list[AttachmentInfo] = []
    for index, part in enumerate(mail.attachments):
        refusal = deps.file_limits.refusal(index, part.size)
        info = AttachmentInfo(
            id=f"{message_id}.{index}",
            filename=part.filename,
            content_type=part.content_type,
            size=part.size,
            inline=part.inline,
            content_id=part.content_id,
            stored=refusal is None,
            note=refusal,
        )
        if refusal is None:
            meta = {"kind": "attachment", "filename": part.filename}
            await deps.blobs.put_blob(attachment_blob(info.id), part.content, meta)
        files.append(info)
    await deps.blobs.put_blob(original_blob(message_id), raw, {"kind": "original"})
    return Message(
        id=message_id,
        author_type=AuthorType.CUSTOMER,
        author=Person(email=mail.sender_email, name=mail.sender_name),
        visibility=Visibility.PUBLIC,
        channel=Channel.EMAIL,
        body=mail.text,
        created_at=deps.clock.now(),
        mail_message_id=mail.message_id,
        message_id_reused=reused,
        sender_suspect=mail.sender_suspect,
        original=mail.text,
        raw_size=len(raw),
        attachments=files,
    )


async def _held_bytes(item: dict[str, Any], deps: IntakeDeps) -> bytes:
    """A held message's bytes (kept inline by earlier versions, in chunks since)."""
    if "raw" in item:
        return bytes(item["raw"])
    raw = await deps.blobs.get_blob(held_blob(str(item["_id"])))
    if raw is None:
        raise NotFound(f"the bytes of quarantined message {item['_id']} are missing")
    return raw


async def _remember(mail: InboundMail, ticket_id: str, deps: IntakeDeps) -> None:
    if mail.message_id:
        await deps.store.remember_mail_id(mail.message_id, ticket_id)
