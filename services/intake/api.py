"""Intake's HTTP routes: thin, typed, no rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.auth import STAFF, CurrentUser, Principal, Role, require
from shared.errors import DomainError
from shared.events.common import Channel, Person, ServiceLevel, TicketStatus
from shared.events.intake import TicketFeedbackReceivedData
from shared.paging import (
    BY_ID,
    Cursor,
    Limit,
    Page,
    Paging,
    decode_cursor,
    decode_seq_cursor,
    encode_cursor,
    page,
)
from shared.runtime import app_deps

from . import service
from .domain import (
    AddMessageRequest,
    Contract,
    FeedbackRequest,
    Message,
    OpenTicketRequest,
    Organization,
    ReleaseRequest,
    Ticket,
)
from .domain.mail import HeldKind
from .domain.notify import Notification
from .service import IntakeDeps, conversation, inbound
from .store.mail import QUEUED

router = APIRouter(prefix="/v1", tags=["tickets"])
Deps = Annotated[IntakeDeps, Depends(app_deps)]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]
Staff = Annotated[Principal, Depends(require(*STAFF))]


class TicketCreatedView(BaseModel):
    id: str
    number: str
    created_at: datetime


class TicketView(BaseModel):
    id: str
    number: str
    subject: str
    channel: Channel
    requester: Person
    organization_id: str | None
    contract_id: str | None
    service_level: ServiceLevel | None
    entitled: bool
    entitlement_reason: str | None = None
    site: str | None = None
    asset: str | None = None
    asset_critical: bool | None = None
    created_by: Person | None = None
    resolved_on_contact: bool = False
    linked_ticket_id: str | None = None
    status: TicketStatus = Field(
        description="As triage last announced it; new until triage has seen the ticket"
    )
    created_at: datetime
    messages: list[Message]

    @classmethod
    def of(cls, ticket: Ticket, user: Principal, status: str | None) -> TicketView:
        details = ticket.details.model_dump(
            include={
                "contract_id",
                "service_level",
                "entitled",
                "entitlement_reason",
                "site",
                "asset",
                "asset_critical",
                "resolved_on_contact",
                "linked_ticket_id",
            }
        )
        if not user.is_staff:  # the ticket it was linked to may be another organisation's
            details["linked_ticket_id"] = None
        extra = {
            "messages": conversation.visible(ticket, user),
            "status": status or TicketStatus.NEW,
        }
        return cls.model_validate(ticket.model_dump() | details | extra)


@router.post("/tickets", status_code=201, response_model=TicketCreatedView)
async def create_ticket(
    body: OpenTicketRequest, user: CurrentUser, deps: Deps
) -> TicketCreatedView:
    """Record a request and give back its ticket number at once."""
    ticket = await service.open_ticket(body, user, deps)
    return TicketCreatedView(id=ticket.id, number=ticket.number, created_at=ticket.created_at)


@router.get("/tickets/{ref}", response_model=TicketView)
async def get_ticket(ref: str, user: CurrentUser, deps: Deps) -> TicketView:
    """A ticket with its conversation, by id or by number (HD-000123)."""
    ticket = await service.find_ticket(ref, user, deps)
    return TicketView.of(ticket, user, await deps.store.status_of(ticket.id))


@router.get(
    "/tickets/{ref}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    ref: str, attachment_id: str, user: CurrentUser, deps: Deps
) -> Response:
    """A file that came with a message, as it was sent."""
    info, content = await conversation.read_attachment(ref, attachment_id, user, deps)
    disposition = f"attachment; filename*=utf-8''{quote(info.filename)}"
    return Response(
        content,
        media_type=served_type(info.content_type),
        headers={"Content-Disposition": disposition},
    )


PASSIVE_TYPES = frozenset(
    {
        "text/plain",
        "text/csv",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/json",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "audio/mpeg",
        "video/mp4",
        "message/rfc822",
        "application/vnd.ms-excel",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)


def served_type(declared: str) -> str:
    """The type an attachment is served as: the uploader's if it is a passive one a browser
    never runs (plain text keeps its charset), else application/octet-stream (HTML, SVG,
    scripts and anything unknown are downloaded, never rendered on our origin)."""
    media, _, params = declared.partition(";")
    media = media.strip().lower()
    if media not in PASSIVE_TYPES:
        return "application/octet-stream"
    charset = next(
        (p.strip() for p in params.split(";") if p.strip().lower().startswith("charset=")), ""
    )
    return f"{media}; {charset}" if media.startswith("text/") and charset else media


@router.get(
    "/tickets/{ref}/messages/{message_id}/original",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}}},
)
async def original_email(ref: str, message_id: str, user: CurrentUser, deps: Deps) -> Response:
    """The e-mail a message came from, whole: headers, quoted history and all parts."""
    raw = await conversation.read_original(ref, message_id, user, deps)
    return Response(raw, media_type="message/rfc822")


@router.get("/tickets", response_model=Page[TicketView])
async def list_tickets(
    user: CurrentUser,
    deps: Deps,
    limit: Limit = 50,
    cursor: Cursor = None,
    organization_id: Annotated[str | None, Query(max_length=100)] = None,
    status: TicketStatus | None = None,
) -> Page[TicketView]:
    """Tickets, newest first; customers see their own organisation's only."""
    seq = decode_seq_cursor(cursor)
    tickets = await service.list_tickets(user, organization_id, seq, limit, deps, status)
    nxt = encode_cursor(str(tickets[-1].seq)) if len(tickets) == limit else None
    views = [TicketView.of(t, user, await deps.store.status_of(t.id)) for t in tickets]
    return Page[TicketView](items=views, next_cursor=nxt)


@router.post("/organizations", status_code=201, response_model=Organization)
async def add_organization(body: Organization, _: Admin, deps: Deps) -> Organization:
    """Register a customer organisation and the e-mail domains of its contacts."""
    return await service.add_organization(body, deps)


@router.get("/organizations", response_model=Page[Organization])
async def list_organizations(
    _: Admin, deps: Deps, limit: Limit = 100, cursor: Cursor = None
) -> Page[Organization]:
    """Customer organisations, by key."""
    orgs = await deps.store.list_organizations(limit, decode_cursor(cursor))
    nxt = encode_cursor(orgs[-1].id) if len(orgs) == limit else None
    return Page[Organization](items=orgs, next_cursor=nxt)


@router.get("/organizations/{org_id}", response_model=Organization)
async def get_organization(org_id: str, user: CurrentUser, deps: Deps) -> Organization:
    """One organisation; a customer sees only its own."""
    return await service.get_organization(org_id, user, deps)


@router.post("/contracts", status_code=201, response_model=Contract)
async def add_contract(body: Contract, _: Admin, deps: Deps) -> Contract:
    """Record a support contract with its service level and validity."""
    return await service.add_contract(body, deps)


@router.get("/organizations/{org_id}/contracts", response_model=Page[Contract])
async def list_contracts(
    org_id: str, user: CurrentUser, deps: Deps, paging: Paging
) -> Page[Contract]:
    """An organisation's contracts, by id."""
    after = paging.after(BY_ID)
    return page(await service.contracts_of(org_id, user, paging.limit, after, deps))


@router.post("/tickets/{ref}/messages", status_code=201, response_model=Message)
async def add_message(ref: str, body: AddMessageRequest, user: CurrentUser, deps: Deps) -> Message:
    """Reply on a ticket (agents: public reply or internal note; customers: their reply)."""
    return await conversation.add_message(ref, body, user, deps)


@router.post("/tickets/{ref}/feedback", status_code=201, response_model=TicketFeedbackReceivedData)
async def give_feedback(
    ref: str, body: FeedbackRequest, user: CurrentUser, deps: Deps
) -> TicketFeedbackReceivedData:
    """The customer's rating (1-5) and comment after resolution."""
    return await conversation.give_feedback(ref, body, user, deps)


class InboundAcceptedView(BaseModel):
    ticket_id: str
    number: str
    action: str = Field(description="created, appended, reopened, or duplicate (received before)")
    message_id_reused: bool = Field(
        default=False,
        description="A different message came before under its Message-ID: this one was "
        "received too, not taken for a duplicate",
    )


class QuarantinedView(BaseModel):
    action: Literal["quarantined"] = "quarantined"
    quarantined: str = Field(description="The held message's id (GET /v1/inbound/quarantine)")
    reason: str
    kind: str = Field(description="The reason in a word: spam, auto_reply, bounce, ...")


MailGateway = Annotated[Principal, Depends(require(Role.SERVICE, Role.ADMIN))]


@router.post(
    "/inbound/email",
    status_code=201,
    response_model=InboundAcceptedView,
    responses={202: {"model": QuarantinedView}},
    openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}}},
)
async def inbound_email(request: Request, _: MailGateway, deps: Deps) -> Response:
    """A raw RFC 822 message: a new ticket, a reply on its ticket, or quarantined with a reason."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "message/rfc822":
        raise HTTPException(415, "send the raw message as Content-Type: message/rfc822")
    outcome = await inbound.receive_email(await request.body(), deps)
    if isinstance(outcome, inbound.Quarantined):
        view = QuarantinedView(
            quarantined=outcome.quarantine_id, reason=outcome.reason, kind=outcome.kind
        )
        return JSONResponse(view.model_dump(), status_code=202)
    accepted = InboundAcceptedView(
        ticket_id=outcome.ticket_id,
        number=outcome.number,
        action=outcome.action,
        message_id_reused=outcome.message_id_reused,
    )
    return JSONResponse(accepted.model_dump(), status_code=201)


class QuarantineItemView(BaseModel):
    id: str
    reason: str
    kind: str | None = Field(default=None, description="The reason in a word (?reason=)")
    sender: str | None
    subject: str | None
    received_at: datetime
    size: int
    released: bool
    ticket_id: str | None = None
    released_by: str | None = None
    released_at: datetime | None = None


@router.get("/inbound/quarantine", response_model=Page[QuarantineItemView])
async def list_quarantine(
    _: Staff,
    deps: Deps,
    limit: Limit = 100,
    cursor: Cursor = None,
    reason: HeldKind | None = None,
) -> Page[QuarantineItemView]:
    """Inbound messages held back (unreadable, spam, auto-replies, bounces, loops, strangers),
    newest first; `reason` lists those held for one reason."""
    position = _quarantine_position(cursor)
    items = await deps.store.list_quarantine(limit, position, reason.value if reason else None)
    views = [QuarantineItemView.model_validate({**i, "id": i["_id"]}) for i in items]
    last = views[-1] if len(views) == limit else None
    nxt = encode_cursor(f"{last.received_at.isoformat()}|{last.id}") if last else None
    return Page[QuarantineItemView](items=views, next_cursor=nxt)


def _quarantine_position(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time received, id) a quarantine cursor names; 400 for one never given out."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    at, _, item_id = value.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise DomainError("cursor is not one this API gave out") from None
    if moment.tzinfo is None or not item_id:
        raise DomainError("cursor is not one this API gave out")
    return moment, item_id


@router.get("/notifications", response_model=Page[Notification])
async def list_notifications(
    _: Staff,
    deps: Deps,
    paging: Paging,
    ticket_id: Annotated[str | None, Query(max_length=100)] = None,
    advisory_id: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[Notification]:
    """What we sent (or failed to send) about a ticket or an advisory, with status and
    attempts, in the order queued."""
    if (ticket_id is None) == (advisory_id is None):
        raise DomainError("give exactly one of the query parameters ticket_id and advisory_id")
    about, key = ("ticket_id", ticket_id) if ticket_id is not None else ("advisory_id", advisory_id)
    found = await deps.notes.notifications_of(about, str(key), paging.limit, paging.after(QUEUED))
    return page(found)


@router.post(
    "/inbound/quarantine/{item_id}/release", status_code=201, response_model=InboundAcceptedView
)
async def release_quarantined(
    item_id: str, body: ReleaseRequest, user: Staff, deps: Deps
) -> InboundAcceptedView:
    """Let a held message through, into the ticket named or along its normal path; once."""
    done = await inbound.release(item_id, body, user, deps)
    return InboundAcceptedView(ticket_id=done.ticket_id, number=done.number, action=done.action)
