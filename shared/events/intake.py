"""Events intake publishes on helpdesk.intake.v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from .common import (
    AuthorType,
    Channel,
    Level,
    Person,
    RequestKind,
    ServiceLevel,
    TicketType,
    Visibility,
)
from .envelope import Event, EventData


class TicketData(EventData):
    ticket_id: str = Field(description="The ticket's id (also the event subject)")
    number: str = Field(description="The customer-facing number, HD-000123")


class TicketCreatedData(TicketData):
    subject: str = Field(description="Subject line as the customer wrote it")
    description: str = Field(default="", description="First message body (plain text)")
    channel: Channel = Field(description="How the request arrived")
    requester: Person = Field(description="The customer contact who asked")
    created_by: Person | None = Field(
        default=None, description="The agent who logged it for the customer (phone, chat, ...)"
    )
    organization_id: str | None = Field(default=None, description="Matched organisation")
    contract_id: str | None = Field(default=None, description="Matched support contract")
    service_level: ServiceLevel | None = Field(default=None, description="The contract's level")
    entitled: bool = Field(default=False, description="A valid contract covers the request")
    entitlement_reason: str | None = Field(
        default=None, description="Why no valid contract covers it (unentitled tickets)"
    )
    site: str | None = Field(default=None, description="Customer site concerned")
    asset: str | None = Field(default=None, description="Equipment or system concerned")
    asset_critical: bool | None = Field(
        default=None, description="The contract marks the asset business-critical"
    )
    product: str | None = Field(default=None, description="Product concerned")
    version: str | None = Field(default=None, description="Product version or release")
    category: str | None = Field(default=None, description="Category chosen by the customer")
    type_hint: TicketType | None = Field(default=None, description="Type stated by the requester")
    request_kind: RequestKind | None = Field(
        default=None, description="Kind of help asked for, when stated (seed 002, step 4)"
    )
    impact: Level | None = Field(default=None, description="Impact stated by the requester")
    urgency: Level | None = Field(default=None, description="Urgency stated by the requester")
    language: str | None = Field(default=None, description="Language of the request (ISO 639-1)")
    resolved_on_contact: bool = Field(
        default=False, description="Answered on the spot (first-contact resolution)"
    )
    resolution: str | None = Field(
        default=None, description="The answer given on the spot, when resolved on contact"
    )
    linked_ticket_id: str | None = Field(default=None, description="A related earlier ticket")
    created_at: datetime = Field(description="When the contact was recorded")


class TicketCreated(Event[TicketCreatedData]):
    type: Literal["ticket.created"] = "ticket.created"


class TicketMessageAddedData(TicketData):
    message_id: str = Field(description="Our id of the message")
    author_type: AuthorType = Field(description="customer, agent or system")
    author: Person = Field(description="Who wrote it")
    visibility: Visibility = Field(description="public (customer sees it) or internal")
    channel: Channel = Field(description="How it arrived or left")
    body: str = Field(default="", description="Plain-text body")


class TicketMessageAdded(Event[TicketMessageAddedData]):
    type: Literal["ticket.message_added"] = "ticket.message_added"


class TicketCustomerRepliedData(TicketData):
    message_id: str = Field(description="Our id of the reply")
    author: Person = Field(description="The customer who replied")
    channel: Channel = Field(description="How the reply arrived")
    intent: Literal["reply", "confirms", "unclear"] = Field(
        default="reply",
        description="To a resolved ticket: confirms (close it), unclear (leave it resolved "
        "and tell its agent), or reply (it reopens); always reply otherwise",
    )


class TicketCustomerReplied(Event[TicketCustomerRepliedData]):
    type: Literal["ticket.customer_replied"] = "ticket.customer_replied"


class TicketFeedbackReceivedData(TicketData):
    rating: int = Field(ge=1, le=5, description="Satisfaction, 1 (poor) to 5 (excellent)")
    comment: str = Field(default="", description="Free text")
    author: Person = Field(description="Who gave it")
    confirms_resolution: bool = Field(
        default=False, description="The customer confirms the ticket may be closed"
    )


class TicketFeedbackReceived(Event[TicketFeedbackReceivedData]):
    type: Literal["ticket.feedback_received"] = "ticket.feedback_received"


class ContactEntitlementFailedData(TicketData):
    reason: str = Field(description="Why no valid contract matched")
    requester: Person = Field(description="Who asked")


class ContactEntitlementFailed(Event[ContactEntitlementFailedData]):
    type: Literal["contact.entitlement_failed"] = "contact.entitlement_failed"


class NotificationData(EventData):
    notification_id: str = Field(description="Our id of the outbound message")
    ticket_id: str | None = Field(default=None, description="The ticket it is about")
    kind: str = Field(description="acknowledgement, reopened, sla_breach, ...")
    recipient: str = Field(description="Address it went to")
    message_id: str = Field(description="RFC 5322 Message-ID")
    attempts: int = Field(default=1, description="Delivery attempts made")
    error: str | None = Field(default=None, description="Last delivery error")
    reason: str | None = Field(
        default=None,
        description="Why it failed, when known: bounced (the recipient's server returned it)",
    )


class NotificationSent(Event[NotificationData]):
    type: Literal["notification.sent"] = "notification.sent"


class NotificationFailed(Event[NotificationData]):
    type: Literal["notification.failed"] = "notification.failed"


class InboundQuarantinedData(EventData):
    quarantine_id: str = Field(description="Id of the kept message")
    reason: str = Field(description="Why it was not accepted")
    sender: str | None = Field(default=None, description="From address, if readable")
    subject: str | None = Field(default=None, description="Subject, if readable")


class InboundQuarantined(Event[InboundQuarantinedData]):
    type: Literal["inbound.quarantined"] = "inbound.quarantined"


INTAKE_EVENTS: tuple[type[Event[Any]], ...] = (
    TicketCreated,
    TicketMessageAdded,
    TicketCustomerReplied,
    TicketFeedbackReceived,
    ContactEntitlementFailed,
    NotificationSent,
    NotificationFailed,
    InboundQuarantined,
)
