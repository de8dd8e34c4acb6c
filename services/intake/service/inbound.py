"""Inbound e-mail: a new ticket, a reply joining its ticket, or a quarantined message."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
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
    loop_reason,
    new_text,
    parse_mail,
    referenced_number,
    sender_and_subject,
)
from ..store import QUARANTINE, attachment_blob, held_blob, original_blob
from . import IntakeDeps, find_ticket, organization_of, record_ticket
from .conversation import append

SUBJECT_LIMIT = 300
CLOSED_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class Accepted:
    ticket_id: str
    number: str
    action: str  # created | appended | reopened | duplicate (this message was received before)


@dataclass(frozen=True)
class Quarantined:
    quarantine_id: str
    reason: str


async def receive_email(raw: bytes, deps: IntakeDeps) -> Accepted | Quarantined:
    """Every message is kept: it feeds a ticket, or waits in quarantine with the reason."""
    if len(raw) > deps.max_mail_bytes:
        sender, subject = await asyncio.to_thread(sender_and_subject, raw)
        oversized = f"oversized ({len(raw)} bytes, the limit is {deps.max_mail_bytes})"
        return await quarantine(raw, oversized, sender, subject, deps)
    try:
        mail = await _parsed(raw, deps)
    except UnreadableMail as exc:  # held with whatever its headers still tell
        sender, subject = await asyncio.to_thread(sender_and_subject, raw)
        return await quarantine(raw, str(exc), sender, subject, deps)
    loop = loop_reason(mail, deps.mail_domain)
    if loop is not None:
        return await quarantine(raw, loop, mail.sender_email, mail.subject, deps)
    # A message seen before is looked up; a new one is not (FerretDB scans for a missing key).
    if mail.message_id and not await deps.store.first_sight(mail.message_id):
        known = await deps.store.ticket_for_mail_id(mail.message_id)
        ticket = await deps.store.get_ticket(known) if known else None
        if ticket is not None:  # the same message delivered again
            metrics.INBOUND_MAIL.labels("duplicate").inc()
            return Accepted(ticket.id, ticket.number, "duplicate")
    answered = await _thread_of(mail, deps)
    if answered is not None and not await _may_write(mail.sender_email, answered, deps):
        if deps.stranger_mail == "quarantine":
            why = (
                f"sender is neither a participant of {answered.number} "
                "nor a contact of its customer"
            )
            return await quarantine(raw, why, mail.sender_email, mail.subject, deps)
        return await _open(mail, raw, answered, deps, guarded=True)
    if answered is not None:
        return await _append(mail, raw, answered, deps)
    return await _open(mail, raw, None, deps, guarded=True)


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
        answered = await _thread_of(mail, deps)
        if answered is not None and await _may_write(mail.sender_email, answered, deps):
            target = answered
    if target is not None:
        return await _append(mail, raw, target, deps)
    outcome = await _open(mail, raw, answered, deps, guarded=False)
    assert isinstance(outcome, Accepted)  # unguarded: nothing is held
    return outcome


async def _append(mail: InboundMail, raw: bytes, ticket: Ticket, deps: IntakeDeps) -> Accepted:
    """The reply joins its ticket; triage reopens a resolved or closed one (its status reaches
    us through its events), and the sender is told what will happen."""
    message = await _keep(mail, raw, deps)
    status = await deps.store.status_of(ticket.id)
    action = "reopened" if status in CLOSED_STATUSES else "appended"
    await append(ticket, message.model_copy(update={"body": new_text(mail.text)}), deps)
    await _remember(mail, ticket.id, deps)
    metrics.INBOUND_MAIL.labels(action).inc()
    return Accepted(ticket.id, ticket.number, action)


async def _open(
    mail: InboundMail, raw: bytes, linked: Ticket | None, deps: IntakeDeps, *, guarded: bool
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
            return await quarantine(raw, why, mail.sender_email, mail.subject, deps)
    message = await _keep(mail, raw, deps)
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
    )
    await _remember(mail, created.id, deps)
    metrics.INBOUND_MAIL.labels("created").inc()
    return Accepted(created.id, created.number, "created")


async def quarantine(
    raw: bytes, reason: str, sender: str | None, subject: str | None, deps: IntakeDeps
) -> Quarantined:
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
    return Quarantined(item_id, reason)


async def _thread_of(mail: InboundMail, deps: IntakeDeps) -> Ticket | None:
    """The ticket a message answers: by [HD-nnnnnn] in the subject, else by the messages it
    names (In-Reply-To, References) that we know."""
    number = referenced_number(mail)
    seq = parse_number(number) if number else None
    if seq is not None:
        ticket = await deps.store.get_ticket_by_seq(seq)
        if ticket is not None:
            return ticket
    for mail_id in reversed(mail.references):
        ticket_id = await deps.store.ticket_for_mail_id(mail_id)
        if ticket_id is not None:
            return await deps.store.get_ticket(ticket_id)
    return None


async def _may_write(sender: str, ticket: Ticket, deps: IntakeDeps) -> bool:
    """A participant of the ticket, or a contact of its organisation; not a stranger."""
    participants = {ticket.requester.email} | {m.author.email for m in ticket.messages}
    if sender in {p.lower() for p in participants if p}:
        return True
    if ticket.organization_id is None:
        return False
    org = await organization_of(sender, deps)
    return org is not None and org.id == ticket.organization_id


async def _keep(mail: InboundMail, raw: bytes, deps: IntakeDeps) -> Message:
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
