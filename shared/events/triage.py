"""Events triage publishes on helpdesk.triage.v1."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from .common import Level, Person, Priority, RequestKind, ServiceLevel, TicketStatus, TicketType
from .envelope import Event
from .intake import TicketData


class TicketTriagedData(TicketData):
    type: TicketType = Field(description="incident, service_request, maintenance, change, ...")
    request_kind: RequestKind | None = Field(default=None, description="Seed 002 step 4 kind")
    impact: Level = Field(description="How much of the customer's business is hit")
    urgency: Level = Field(description="How soon it hurts")
    priority: Priority = Field(description="lowest..highest, after the service-level uplift")
    service_level: ServiceLevel | None = Field(default=None, description="The contract's level")
    queue: str = Field(description="Queue key the ticket was routed to")
    tier: int = Field(ge=1, le=3, description="1 first line, 2 specialists, 3 developers")
    status: TicketStatus = Field(description="Status after triage")
    organization_id: str | None = Field(default=None, description="Customer organisation")
    entitled: bool = Field(default=False, description="A valid contract covers the request")
    explanation: list[str] = Field(default_factory=list, description="Which rule set what")
    scores: dict[str, float] = Field(
        default_factory=dict, description="Classification scores by type and request kind"
    )
    assignee: str | None = Field(default=None, description="Agent responsible, if assigned")
    corrected_by: Person | None = Field(
        default=None, description="Set when an agent corrected the classification"
    )


class TicketTriaged(Event[TicketTriagedData]):
    type: Literal["ticket.triaged"] = "ticket.triaged"


class TicketAssignedData(TicketData):
    assignee: str = Field(description="Agent id now responsible")
    previous_assignee: str | None = Field(default=None, description="Agent before, if any")
    queue: str = Field(description="Queue of the work item")
    tier: int = Field(ge=1, le=3, description="Tier of the work item")
    by: Person | None = Field(default=None, description="Who assigned; None for automatic")
    reason: str = Field(default="", description="Why")


class TicketAssigned(Event[TicketAssignedData]):
    type: Literal["ticket.assigned"] = "ticket.assigned"


class TicketStatusChangedData(TicketData):
    from_status: TicketStatus = Field(description="Status before")
    to_status: TicketStatus = Field(description="Status after")
    by: Person | None = Field(default=None, description="Who changed it; None for automatic")
    reason: str = Field(default="", description="Why")


class TicketStatusChanged(Event[TicketStatusChangedData]):
    type: Literal["ticket.status_changed"] = "ticket.status_changed"


class TicketEscalatedData(TicketData):
    from_tier: int = Field(ge=1, le=3, description="Tier before")
    to_tier: int = Field(ge=1, le=3, description="Tier after")
    queue: str = Field(description="Queue after escalation")
    automatic: bool = Field(description="Escalated by an SLA event rather than by an agent")
    reason: str = Field(description="Why, with the symptoms documented")
    by: Person | None = Field(default=None, description="Who escalated; None for automatic")
    trigger: str = Field(default="manual", description="manual, sla.at_risk or sla.breached")
    symptoms: str = Field(default="", description="What was observed (seed 001)")
    assignee: str | None = Field(default=None, description="Who has the ticket now")
    notified: list[str] = Field(
        default_factory=list, description="Agents alerted: the queue's and the supervisors"
    )


class TicketEscalated(Event[TicketEscalatedData]):
    type: Literal["ticket.escalated"] = "ticket.escalated"


class TicketResolvedData(TicketData):
    resolution: str = Field(description="What solved it")
    resolution_code: str = Field(default="solved", description="solved, workaround, fix_released…")
    by: Person | None = Field(default=None, description="Who resolved it")
    first_contact: bool = Field(default=False, description="Resolved at first contact")
    cause: str | None = Field(default=None, description="Root cause found")
    workaround: str | None = Field(default=None, description="How to live with it meanwhile")
    failed_attempts: list[str] = Field(
        default_factory=list, description="Solutions tried that did not help"
    )
    fix_release: str | None = Field(default=None, description="Release that brings the fix")
    fix_expected_on: date | None = Field(default=None, description="When a pending fix is due")
    problem_id: str | None = Field(default=None, description="Problem this ticket is linked to")
    deficiency_report_id: str | None = Field(
        default=None, description="Deficiency report raised for it"
    )


class TicketResolved(Event[TicketResolvedData]):
    type: Literal["ticket.resolved"] = "ticket.resolved"


class TicketReopenedData(TicketData):
    reason: str = Field(description="Why: a customer reply, an agent decision")
    reopen_count: int = Field(ge=1, description="How many times it has been reopened")
    by: Person | None = Field(default=None, description="Who reopened it")


class TicketReopened(Event[TicketReopenedData]):
    type: Literal["ticket.reopened"] = "ticket.reopened"


class TicketClosedData(TicketData):
    reason: str = Field(description="confirmed by customer, quiet period elapsed, ...")
    by: Person | None = Field(default=None, description="Who closed it; None for automatic")


class TicketClosed(Event[TicketClosedData]):
    type: Literal["ticket.closed"] = "ticket.closed"


TRIAGE_EVENTS: tuple[type[Event[Any]], ...] = (
    TicketTriaged,
    TicketAssigned,
    TicketStatusChanged,
    TicketEscalated,
    TicketResolved,
    TicketReopened,
    TicketClosed,
)
