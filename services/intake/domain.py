"""Intake's pure rules: ticket numbers, the web/API request, the first message."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.events.common import AuthorType, Channel, Level, Person, TicketType, Visibility
from shared.events.intake import TicketCreated, TicketCreatedData

NUMBER_PREFIX = "HD-"
NUMBER_RE = re.compile(r"^HD-(\d{6,})$")


def format_number(seq: int) -> str:
    if seq < 1:
        raise ValueError("ticket sequence numbers start at 1")
    return f"{NUMBER_PREFIX}{seq:06d}"


def parse_number(text: str) -> int | None:
    match = NUMBER_RE.match(text.strip().upper())
    return int(match.group(1)) if match else None


class Requester(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(description="Where we answer")
    name: str | None = Field(default=None, max_length=200)


class OpenTicketRequest(BaseModel):
    """A request from the web form or the API, or logged by an agent for a customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=50_000)
    channel: Channel = Field(default=Channel.WEB)
    requester: Requester | None = Field(
        default=None, description="Required when an agent logs it; a customer is the requester"
    )
    organization_id: str | None = Field(default=None, max_length=100)
    site: str | None = Field(default=None, max_length=200)
    asset: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    type: TicketType | None = Field(default=None, description="Leave empty to let triage decide")
    impact: Level | None = None
    urgency: Level | None = None


class Message(BaseModel):
    id: str
    author_type: AuthorType
    author: Person
    visibility: Visibility
    channel: Channel
    body: str
    created_at: datetime


class Ticket(BaseModel):
    id: str
    seq: int
    number: str
    subject: str
    channel: Channel
    requester: Person
    organization_id: str | None
    created_by: Person | None
    created_at: datetime
    messages: list[Message]
    details: TicketCreatedData


def new_ticket(
    request: OpenTicketRequest,
    requester: Person,
    created_by: Person | None,
    organization_id: str | None,
    now: datetime,
) -> Ticket:
    """The ticket as recorded before a number is allocated (seq 0, number empty)."""
    ticket_id = str(uuid4())
    first = Message(
        id=str(uuid4()),
        author_type=AuthorType.CUSTOMER,
        author=requester,
        visibility=Visibility.PUBLIC,
        channel=request.channel,
        body=request.description,
        created_at=now,
    )
    details = TicketCreatedData(
        ticket_id=ticket_id,
        number="",
        subject=request.subject,
        description=request.description,
        channel=request.channel,
        requester=requester,
        created_by=created_by,
        organization_id=organization_id,
        site=request.site,
        asset=request.asset,
        product=request.product,
        version=request.version,
        category=request.category,
        type_hint=request.type,
        impact=request.impact,
        urgency=request.urgency,
        created_at=now,
    )
    return Ticket(
        id=ticket_id,
        seq=0,
        number="",
        subject=request.subject,
        channel=request.channel,
        requester=requester,
        organization_id=organization_id,
        created_by=created_by,
        created_at=now,
        messages=[first],
        details=details,
    )


def numbered(ticket: Ticket, seq: int) -> Ticket:
    number = format_number(seq)
    details = ticket.details.model_copy(update={"number": number})
    return ticket.model_copy(update={"seq": seq, "number": number, "details": details})


def created_event(ticket: Ticket, now: datetime) -> TicketCreated:
    return TicketCreated.create(source="intake", subject=ticket.id, data=ticket.details, time=now)
