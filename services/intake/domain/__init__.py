"""Intake's pure rules: ticket numbers, the web/API request, the first message."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import uuid4

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from shared.events import Event
from shared.events.common import (
    AuthorType,
    Channel,
    Level,
    Person,
    RequestKind,
    ServiceLevel,
    TicketType,
    Visibility,
)
from shared.events.intake import (
    ContactEntitlementFailed,
    ContactEntitlementFailedData,
    TicketCreated,
    TicketCreatedData,
)
from shared.strict import IsoDate, StrictBool, StrictInt, Trimmed

from .notify import language_of

NUMBER_PREFIX = "HD-"
AGENT_LOGGED = frozenset({Channel.PHONE, Channel.CHAT, Channel.IN_PERSON})
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


def _base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("give the content as a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None


class FileUpload(Trimmed):
    """A file sent with a request or a reply through the API (the content in base64)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(
        default="application/octet-stream", pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=200
    )
    content: Annotated[bytes, BeforeValidator(_base64)] = Field(
        description="The file's bytes, base64-encoded",
        json_schema_extra={"type": "string", "contentEncoding": "base64"},
    )


class OpenTicketRequest(Trimmed):
    """A request from the web form or the API, or logged by an agent for a customer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=50_000)
    channel: Channel = Field(default=Channel.WEB)
    requester: Requester | None = Field(
        default=None, description="Required when an agent logs it; a customer is the requester"
    )
    organization_id: str | None = Field(default=None, max_length=100)
    attachments: list[FileUpload] = Field(default_factory=list, max_length=100)
    site: str | None = Field(default=None, max_length=200)
    asset: str | None = Field(default=None, max_length=200)
    product: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    type: TicketType | None = Field(default=None, description="Leave empty to let triage decide")
    request_kind: RequestKind | None = Field(
        default=None,
        description="failure_analysis, problem_resolution, configuration_ or "
        "usage_consultation; empty: triage decides",
    )
    impact: Level | None = None
    urgency: Level | None = None
    language: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z]{2}(-[a-zA-Z0-9]{2,8})?$",
        description="The customer's language (en, ru, pl, sv); guessed from the text if empty",
    )
    contract_number: str | None = Field(
        default=None, max_length=60, description="Names the contract (seed 002, step 2)"
    )
    licence_key: str | None = Field(
        default=None, max_length=100, description="Names the contract by a licence it covers"
    )
    resolved_on_contact: StrictBool = Field(
        default=False, description="Staff only: answered on the spot (first-contact resolution)"
    )
    resolution: str | None = Field(
        default=None, max_length=10_000, description="The answer given, for a resolved contact"
    )

    @model_validator(mode="after")
    def _resolution(self) -> OpenTicketRequest:
        if self.resolved_on_contact and not self.resolution:
            raise ValueError("a ticket resolved on contact needs the resolution given")
        if self.contract_number and self.licence_key:
            raise ValueError("name the contract by its number or by a licence key, not both")
        return self

    def contract_reference(self) -> tuple[str, str] | None:
        """("number" or "licence", the key) when the request names its contract."""
        if self.contract_number:
            return "number", self.contract_number
        if self.licence_key:
            return "licence", self.licence_key
        return None


class ReleaseRequest(Trimmed):
    """An agent's decision on a quarantined message."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    ticket: str | None = Field(
        default=None,
        max_length=100,
        description="Append it to this ticket (id or number); empty: the message's normal path",
    )
    requester: EmailStr | None = Field(
        default=None, description="Who it is from, when the message names no readable sender"
    )


class AttachmentInfo(BaseModel):
    id: str = Field(default="", description="Download it at /v1/tickets/{ref}/attachments/{id}")
    filename: str
    content_type: str
    size: int
    inline: bool = Field(default=False, description="Shown in the body (an embedded image)")
    content_id: str | None = Field(default=None, description="Content-ID the HTML body cites")
    stored: bool = Field(
        default=True, description="False: over a limit, kept only in the original message"
    )
    note: str | None = Field(default=None, description="Why it was not stored")


@dataclass(frozen=True)
class FileLimits:
    """What intake keeps of an inbound message's files, apart from the original itself, and
    how far it opens the message to find them: MIME parts nested deeper, or more of them, and
    the message is quarantined instead (the parser is recursive, and slower the deeper)."""

    max_bytes: int = 5 * 1_048_576
    max_count: int = 20
    max_mime_depth: int = 20
    max_mime_parts: int = 500

    def refusal(self, index: int, size: int) -> str | None:
        if index >= self.max_count:
            return f"beyond the first {self.max_count} files: kept in the original message only"
        if size > self.max_bytes:
            return (
                f"larger than the {self.max_bytes} bytes allowed per file: "
                "kept in the original message only"
            )
        return None


class Message(BaseModel):
    id: str
    author_type: AuthorType
    author: Person
    visibility: Visibility
    channel: Channel
    body: str
    created_at: datetime
    mail_message_id: str | None = Field(default=None, description="RFC 5322 Message-ID")
    sender_suspect: bool = Field(
        default=False,
        description="The sender's address held an encoded word (a faked sender): kept as it "
        "came, and it proves nothing about who wrote",
    )
    message_id_reused: bool = Field(
        default=False,
        description="A different message came before under the same Message-ID (a mailer "
        "that reuses them): this one was kept too, not taken for a duplicate",
    )
    original: str | None = Field(default=None, description="Whole text, quoted history included")
    raw_size: int | None = Field(
        default=None, description="Bytes of the original e-mail, kept whole (…/original)"
    )
    attachments: list[AttachmentInfo] = Field(default_factory=list)


class AddMessageRequest(Trimmed):
    """A reply on the ticket: an agent's (public or internal note) or the customer's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    body: str = Field(min_length=1, max_length=50_000)
    visibility: Visibility = Visibility.PUBLIC
    channel: Channel = Channel.WEB
    attachments: list[FileUpload] = Field(default_factory=list, max_length=100)


class FeedbackRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rating: StrictInt = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: str = Field(default="", max_length=5_000)
    confirms_resolution: StrictBool = Field(
        default=False, description="Yes, the ticket may be closed (answers 'may we close it?')"
    )


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
    automated: str | None = Field(
        default=None,
        description="The kind of automated mail that opened it (bulk, list, null_sender, "
        "auto_reply): no automatic notice answers it",
    )


def new_ticket(
    request: OpenTicketRequest,
    requester: Person,
    created_by: Person | None,
    organization_id: str | None,
    now: datetime,
) -> Ticket:
    """The ticket as recorded before a number is allocated (seq 0, number empty)."""
    ticket_id = str(uuid4())
    # A call, a chat or a visit is written down by the agent who took it; a form or a message
    # passed on by staff or an integration is the customer's own words.
    noted_by = created_by if request.channel in AGENT_LOGGED else None
    first = Message(
        id=str(uuid4()),
        author_type=AuthorType.AGENT if noted_by else AuthorType.CUSTOMER,
        author=noted_by or requester,
        visibility=Visibility.PUBLIC,
        channel=request.channel,
        body=request.description,
        created_at=now,
    )
    messages = [first]
    if request.resolved_on_contact and request.resolution and created_by:
        messages.append(
            Message(
                id=str(uuid4()),
                author_type=AuthorType.AGENT,
                author=created_by,
                visibility=Visibility.PUBLIC,
                channel=request.channel,
                body=request.resolution,
                created_at=now,
            )
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
        request_kind=request.request_kind,
        impact=request.impact,
        urgency=request.urgency,
        resolved_on_contact=request.resolved_on_contact,
        resolution=request.resolution if request.resolved_on_contact else None,
        language=language_of(request.language, f"{request.subject}\n{request.description}"),
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
        messages=messages,
        details=details,
    )


def numbered(ticket: Ticket, seq: int) -> Ticket:
    number = format_number(seq)
    details = ticket.details.model_copy(update={"number": number})
    return ticket.model_copy(update={"seq": seq, "number": number, "details": details})


def created_events(ticket: Ticket, now: datetime) -> list[Event[Any]]:
    """ticket.created; for a request no valid contract covers, contact.entitlement_failed too."""
    created = TicketCreated.create(
        source="intake", subject=ticket.id, data=ticket.details, time=now
    )
    if ticket.details.entitled:
        return [created]
    failed = ContactEntitlementFailed.create(
        source="intake",
        subject=ticket.id,
        time=now,
        data=ContactEntitlementFailedData(
            ticket_id=ticket.id,
            number=ticket.number,
            reason=ticket.details.entitlement_reason or "no valid contract",
            requester=ticket.requester,
        ),
    )
    return [created, failed]


SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
DOMAIN = r"^[a-z0-9.-]+\.[a-z]{2,}$"


class Contact(Trimmed):
    """A named person at a customer, who may receive advisories and maintenance notices."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: EmailStr
    name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(
        default=None, pattern="^(en|ru|pl|sv)$", description="Language we write to them in"
    )
    advisories: StrictBool = Field(default=True, description="Receives advisories and notices")

    @field_validator("email")
    @classmethod
    def _lower(cls, email: str) -> str:
        return email.lower()


class Organization(Trimmed):
    """A customer organisation; its e-mail domains identify its contacts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=SLUG, description="Short stable key, e.g. acme")
    name: str = Field(min_length=1, max_length=200)
    email_domains: list[str] = Field(default_factory=list, max_length=50)
    contacts: list[Contact] = Field(default_factory=list, max_length=500)

    @field_validator("email_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        cleaned = [d.strip().lower() for d in domains]
        bad = [d for d in cleaned if not re.match(DOMAIN, d)]
        if bad:
            raise ValueError(f"not e-mail domains: {bad}")
        return cleaned


class Site(Trimmed):
    """A customer location covered by a contract."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=SLUG, description="Short key, e.g. hq or plant-b")
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)


class Asset(Trimmed):
    """Equipment or a system under the contract, e.g. a server by its serial number."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=100, description="Serial number or inventory key")
    name: str = Field(min_length=1, max_length=200)
    site_id: str | None = Field(
        default=None, description="Where it stands (a site of the contract)"
    )
    product: str | None = Field(default=None, max_length=200)
    critical: StrictBool = Field(
        default=False, description="Business-critical: triage raises priority"
    )


class Contract(Trimmed):
    """A support contract: service level, validity, and what it covers (sites, assets, licences)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=SLUG, description="Short stable key")
    organization_id: str = Field(pattern=SLUG)
    number: str = Field(min_length=1, max_length=60, description="Contract number")
    service_level: ServiceLevel
    valid_from: IsoDate
    valid_to: IsoDate
    licence_keys: list[Annotated[str, Field(min_length=4, max_length=100)]] = Field(
        default_factory=list, max_length=500, description="Software licence keys it covers"
    )
    sites: list[Site] = Field(default_factory=list, max_length=500)
    assets: list[Asset] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        for what, keys in (
            ("site ids", [x.id for x in self.sites]),
            ("asset ids", [a.id.lower() for a in self.assets]),
            ("licence keys", [key_of(k) for k in self.licence_keys]),
        ):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise ValueError(f"{what} repeated: {repeated}")
        sites = {x.id for x in self.sites}
        unknown = sorted({a.site_id for a in self.assets if a.site_id and a.site_id not in sites})
        if unknown:
            raise ValueError(f"assets name sites the contract does not have: {unknown}")
        return self

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def asset(self, asset_id: str) -> Asset | None:
        wanted = asset_id.strip().lower()
        return next((a for a in self.assets if a.id.lower() == wanted), None)


def key_of(text: str) -> str:
    """Contract numbers and licence keys match whatever their case, spaces and dashes."""
    return re.sub(r"[\s\-_]", "", text).upper()


@dataclass(frozen=True)
class Entitlement:
    contract: Contract | None
    reason: str | None  # why no valid contract covers the request


def judge(
    named: Contract | None,
    reference: str | None,
    org_id: str | None,
    org_contracts: list[Contract],
    day: date,
) -> Entitlement:
    """Seed 002, step 2: the contract named by number or licence key, else the organisation's best.

    A contract named for another organisation than the requester's is not used: knowing a
    number must not buy someone else's service level.
    """
    if reference is not None:
        if named is None:
            return Entitlement(None, f"{reference} matches no contract")
        if org_id is not None and named.organization_id != org_id:
            # worded as for no contract at all: whose it is is not the requester's to learn
            return Entitlement(None, f"{reference} matches no contract")
        if not named.covers(day):
            return Entitlement(None, f"contract {named.number} is not valid on {day.isoformat()}")
        return Entitlement(named, None)
    if org_id is None:
        return Entitlement(None, "the requester matches no organisation")
    best = best_contract(org_contracts, day)
    if best is None:
        return Entitlement(
            None, f"organisation {org_id} has no contract valid on {day.isoformat()}"
        )
    return Entitlement(best, None)


def email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().lower() or None


def best_contract(contracts: list[Contract], day: date) -> Contract | None:
    """The valid contract with the best service level, if any."""
    rank = list(ServiceLevel)
    valid = [c for c in contracts if c.covers(day)]
    return min(valid, key=lambda c: rank.index(c.service_level), default=None)


def entitle(details: TicketCreatedData, found: Entitlement) -> TicketCreatedData:
    """The ticket's details with the contract found (or none: unentitled, still recorded).

    An asset of the contract named by the request fills in its site and whether it is critical.
    """
    contract = found.contract
    if contract is None:
        return details.model_copy(
            update={"entitled": False, "contract_id": None, "entitlement_reason": found.reason}
        )
    update: dict[str, object] = {
        "entitled": True,
        "organization_id": contract.organization_id,
        "contract_id": contract.id,
        "service_level": contract.service_level,
        "entitlement_reason": None,
    }
    asset = contract.asset(details.asset) if details.asset else None
    if asset is not None:
        update |= {
            "asset": asset.id,
            "asset_critical": asset.critical,
            "site": details.site or asset.site_id,
            "product": details.product or asset.product,
        }
    return details.model_copy(update=update)


def covers(contract: Contract, sites: list[str], products: list[str]) -> bool:
    """Whether a contract covers one of the sites (by id or name) or products named; a product
    named with its version ("Billing 7.3") matches an asset of that product and version, one
    named alone ("Billing") any version of it."""
    wanted_sites = {s.casefold() for s in sites}
    if any(
        s.id.casefold() in wanted_sites or s.name.casefold() in wanted_sites for s in contract.sites
    ):
        return True
    wanted = [p.casefold().split() for p in products]
    for asset in contract.assets:
        have = (asset.product or "").casefold().split()
        if have and any(have[: len(w)] == w for w in wanted if w):
            return True
    return False
