"""Intake's use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import Conflict, DomainError, FieldInvalid, Forbidden, NotFound
from shared.events.common import Person
from shared.outbox import OutboxRelay
from shared.paging import Position, Slice

from .. import metrics
from ..domain import (
    AttachmentInfo,
    Contract,
    FileLimits,
    FileUpload,
    Message,
    OpenTicketRequest,
    Organization,
    Ticket,
    created_events,
    email_domain,
    entitle,
    judge,
    new_ticket,
    numbered,
    parse_number,
)
from ..domain.answers import Phrases
from ..domain.mail import SpamRule
from ..domain.replies import ReplyTokens
from ..store import TICKETS, BlobStore, IntakeStore, NotificationStore, attachment_blob

MAX_NUMBER_ATTEMPTS = 5


@dataclass
class IntakeDeps:
    store: IntakeStore
    relay: OutboxRelay
    clock: Clock
    notes: NotificationStore
    blobs: BlobStore
    mail_domain: str = "helpdesk.switchboard.example"
    max_mail_bytes: int = 10 * 1_048_576
    file_limits: FileLimits = field(default_factory=FileLimits)
    stranger_mail: str = "new_ticket"
    """A stranger writing into a ticket: a new linked ticket, or "quarantine" for review."""
    storm_limit: int = 20
    """New tickets one sender may open by mail per hour before more are held (0: no limit)."""
    tokens: ReplyTokens = field(default_factory=lambda: ReplyTokens(b""))
    """Reply tokens in our notices; without a secret none are issued and none accepted."""
    reply_domains: tuple[str, ...] = ()
    """Domains our Reply-To sub-addresses are at (the sender's and our mail domain)."""
    trusted_authserv_ids: tuple[str, ...] = ()
    """Receiving servers whose Authentication-Results we read (and servers below them)."""
    duplicate_window_hours: float = 24.0
    """A message without a Message-ID posted again within this is the same message."""
    automated_mail: dict[str, str] = field(
        default_factory=lambda: {"bulk": "ticket", "list": "ticket", "null_sender": "ticket"}
    )
    """Kinds of automated mail that open a ticket (never auto-answered); the rest are held."""
    spam: SpamRule = field(default_factory=SpamRule)
    answer_phrases: Phrases = field(default_factory=Phrases)
    """How a customer's answer to "may we close it?" is read (domain/answers.py)."""
    mail_due: asyncio.Event = field(default_factory=asyncio.Event)
    loops: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    """What runs beside the API while the service runs: the mailer, the SMTP listener."""


async def open_ticket(request: OpenTicketRequest, user: Principal, deps: IntakeDeps) -> Ticket:
    """Record the contact as a ticket with the next free number, and announce ticket.created."""
    requester, created_by, org_id = _who(request, user)
    return await record_ticket(request, requester, created_by, org_id, deps)


async def record_ticket(
    request: OpenTicketRequest,
    requester: Person,
    created_by: Person | None,
    org_id: str | None,
    deps: IntakeDeps,
    *,
    first: Message | None = None,
    linked_ticket_id: str | None = None,
    automated: str | None = None,
) -> Ticket:
    """Entitle, number and store a new ticket; every channel ends here."""
    now = deps.clock.now()
    if org_id is None:
        org = await organization_of(requester.email, deps)
        org_id = org.id if org else None
    reference = request.contract_reference()
    named = await deps.store.contract_by_key(*reference) if reference else None
    contracts = await deps.store.contracts_of(org_id) if org_id and not reference else []
    found = judge(named, " ".join(reference) if reference else None, org_id, contracts, now.date())
    draft = new_ticket(request, requester, created_by, org_id, now)
    details = entitle(draft.details, found)
    details = details.model_copy(update={"linked_ticket_id": linked_ticket_id})
    opening = first or draft.messages[0]
    if request.attachments:
        files = await keep_uploads(opening.id, request.attachments, deps)
        opening = opening.model_copy(update={"attachments": files})
    draft = draft.model_copy(
        update={
            "details": details,
            "organization_id": details.organization_id,
            "messages": [opening, *draft.messages[1:]],
            "automated": automated,
        }
    )
    async with deps.relay.writing(TICKETS, draft.id):
        ticket = await _insert_numbered(draft, now, deps)
    metrics.TICKETS_CREATED.labels(request.channel.value).inc()
    return ticket


async def keep_uploads(
    message_id: str, uploads: Sequence[FileUpload], deps: IntakeDeps
) -> list[AttachmentInfo]:
    """Files sent through the API: refused whole (422 naming the file) when over a limit, as
    the sender is there to hear it; mail cannot be refused, so its extra files stay in the
    original instead."""
    for index, upload in enumerate(uploads):
        refusal = deps.file_limits.refusal(index, len(upload.content))
        if refusal is not None:
            raise FieldInvalid(f"attachments.{index}", refusal.split(":")[0])
    files = []
    for index, upload in enumerate(uploads):
        info = AttachmentInfo(
            id=f"{message_id}.{index}",
            filename=upload.filename.replace("/", "-").replace("\\", "-"),
            content_type=upload.content_type,
            size=len(upload.content),
        )
        meta = {"kind": "attachment", "filename": info.filename}
        await deps.blobs.put_blob(attachment_blob(info.id), upload.content, meta)
        files.append(info)
    return files


async def organization_of(email: str | None, deps: IntakeDeps) -> Organization | None:
    """The customer a sender belongs to: a named contact's organisation (so a contact writing
    from a private address is known), else the organisation of the address's domain."""
    if not email:
        return None
    org = await deps.store.organization_for_address(email.lower())
    if org is not None:
        return org
    domain = email_domain(email)
    return await deps.store.organization_for_domain(domain) if domain else None


async def _insert_numbered(draft: Ticket, now: datetime, deps: IntakeDeps) -> Ticket:
    """Insert under the next number of the counter (one atomic increment: every replica gets
    its own). A clash means a number was given before the counter existed: take the next."""
    for _ in range(MAX_NUMBER_ATTEMPTS):
        ticket = numbered(draft, await deps.store.next_seq())
        if await deps.store.insert_ticket(ticket, created_events(ticket, now)):
            return ticket
        metrics.NUMBER_CONFLICTS.inc()
    raise DomainError("could not allocate a ticket number; try again")


def _who(request: OpenTicketRequest, user: Principal) -> tuple[Person, Person | None, str | None]:
    me = Person(email=user.email, name=user.name, subject_id=user.sub)
    if Role.CUSTOMER in user.roles and not user.is_staff:
        if request.organization_id and request.organization_id != user.org:
            raise Forbidden("customers open tickets for their own organisation only")
        if request.resolved_on_contact:
            raise Forbidden("only staff record a contact as resolved on the spot")
        return me, None, user.org
    if request.requester is None:
        raise DomainError("requester is required when staff log a ticket for a customer")
    requester = Person(email=str(request.requester.email), name=request.requester.name)
    return requester, me, request.organization_id


async def find_ticket(ref: str, user: Principal, deps: IntakeDeps) -> Ticket:
    seq = parse_number(ref)
    ticket = await (deps.store.get_ticket_by_seq(seq) if seq else deps.store.get_ticket(ref))
    if ticket is None or not _may_see(user, ticket):
        raise NotFound(f"no ticket {ref}")
    return ticket


async def list_tickets(
    user: Principal,
    organization_id: str | None,
    before_seq: int | None,
    limit: int,
    deps: IntakeDeps,
    status: str | None = None,
) -> list[Ticket]:
    if not user.is_staff:
        if organization_id not in (None, user.org) or user.org is None:
            raise Forbidden("customers see their own organisation's tickets only")
        organization_id = user.org
    return await deps.store.list_tickets(organization_id, before_seq, limit, status)


async def add_organization(org: Organization, deps: IntakeDeps) -> Organization:
    clash = await deps.store.insert_organization(org)
    if clash is not None:
        raise Conflict(clash)
    return org


async def get_organization(org_id: str, user: Principal, deps: IntakeDeps) -> Organization:
    org = await deps.store.get_organization(org_id)
    if org is None or not (user.is_staff or user.org == org_id):
        raise NotFound(f"no organisation {org_id}")
    return org


async def add_contract(contract: Contract, deps: IntakeDeps) -> Contract:
    if await deps.store.get_organization(contract.organization_id) is None:
        raise DomainError(f"no organisation {contract.organization_id}")
    clash = await deps.store.insert_contract(contract)
    if clash is not None:
        raise Conflict(clash)
    return contract


async def contracts_of(
    org_id: str, user: Principal, limit: int, after: Position | None, deps: IntakeDeps
) -> Slice[Contract]:
    await get_organization(org_id, user, deps)
    return await deps.store.contract_page(org_id, limit, after)


def _may_see(user: Principal, ticket: Ticket) -> bool:
    return user.is_staff or (user.org is not None and ticket.organization_id == user.org)
