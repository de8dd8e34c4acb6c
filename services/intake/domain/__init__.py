"""Intake's pure rules: ticket numbers, the web/API request, the first message."""

from __future__ import annotations

import re
from datetime import date, datetime
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from shared.events.common import (
    AuthorType,
    Channel,
    Level,
    Person,
    ServiceLevel,
    TicketType,
    Visibility,
)
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


class AttachmentInfo(BaseModel):
    filename: str
    content_type: str
    size: int


class Message(BaseModel):
    id: str
    author_type: AuthorType
    author: Person
    visibility: Visibility
    channel: Channel
    body: str
    created_at: datetime
    mail_message_id: str | None = Field(default=None, description="RFC 5322 Message-ID")
    original: str | None = Field(default=None, description="Whole text, quoted history included")
    attachments: list[AttachmentInfo] = Field(default_factory=list)


class AddMessageRequest(BaseModel):
    """A reply on the ticket: an agent's (public or internal note) or the customer's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=1, max_length=50_000)
    visibility: Visibility = Visibility.PUBLIC
    channel: Channel = Channel.WEB


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(default="", max_length=5_000)


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


SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
DOMAIN = r"^[a-z0-9.-]+\.[a-z]{2,}$"


class Organization(BaseModel):
    """A customer organisation; its e-mail domains identify its contacts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=SLUG, description="Short stable key, e.g. acme")
    name: str = Field(min_length=1, max_length=200)
    email_domains: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        cleaned = [d.strip().lower() for d in domains]
        bad = [d for d in cleaned if not re.match(DOMAIN, d)]
        if bad:
            raise ValueError(f"not e-mail domains: {bad}")
        return cleaned


class Contract(BaseModel):
    """A support contract: which service level an organisation has, and for how long."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=SLUG, description="Short stable key")
    organization_id: str = Field(pattern=SLUG)
    number: str = Field(min_length=1, max_length=60, description="Contract number")
    service_level: ServiceLevel
    valid_from: date
    valid_to: date

    @model_validator(mode="after")
    def _period(self) -> Contract:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower() or None


def best_contract(contracts: list[Contract], day: date) -> Contract | None:
    """The valid contract with the best service level, if any."""
    rank = list(ServiceLevel)
    valid = [c for c in contracts if c.covers(day)]
    return min(valid, key=lambda c: rank.index(c.service_level), default=None)


def entitle(details: TicketCreatedData, contract: Contract | None) -> TicketCreatedData:
    """The ticket's details with the contract found (or none: unentitled, still recorded)."""
    if contract is None:
        return details.model_copy(update={"entitled": False, "contract_id": None})
    return details.model_copy(
        update={
            "entitled": True,
            "contract_id": contract.id,
            "service_level": contract.service_level,
        }
    )
