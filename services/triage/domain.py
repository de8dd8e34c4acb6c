"""Triage's pure rules: priority from impact x urgency and service level, routing, life cycle."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from shared.errors import InvalidTransition
from shared.events.common import Level, Priority, ServiceLevel, TicketStatus, TicketType
from shared.events.intake import TicketCreatedData

PRIORITY_ORDER: tuple[Priority, ...] = (
    Priority.LOWEST,
    Priority.LOW,
    Priority.NORMAL,
    Priority.HIGH,
    Priority.HIGHEST,
)

# impact x urgency -> priority, before the service-level uplift.
DEFAULT_MATRIX: dict[tuple[Level, Level], Priority] = {
    (Level.HIGH, Level.HIGH): Priority.HIGHEST,
    (Level.HIGH, Level.MEDIUM): Priority.HIGH,
    (Level.MEDIUM, Level.HIGH): Priority.HIGH,
    (Level.HIGH, Level.LOW): Priority.NORMAL,
    (Level.MEDIUM, Level.MEDIUM): Priority.NORMAL,
    (Level.LOW, Level.HIGH): Priority.NORMAL,
    (Level.MEDIUM, Level.LOW): Priority.LOW,
    (Level.LOW, Level.MEDIUM): Priority.LOW,
    (Level.LOW, Level.LOW): Priority.LOW,
}
LEVEL_UPLIFT: dict[ServiceLevel, int] = {
    ServiceLevel.PLATINUM: 1,
    ServiceLevel.GOLD: 1,
    ServiceLevel.SILVER: 0,
    ServiceLevel.BRONZE: 0,
}
DEFAULT_QUEUE = "general-questions"
VERIFICATION_QUEUE = "verification"
DEFAULT_QUEUES: tuple[str, ...] = (
    "general-questions",
    "compatibility",
    "operations",
    "verification",
)

ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.ASSIGNED, TicketStatus.RESOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.ASSIGNED, TicketStatus.RESOLVED}),
    TicketStatus.ASSIGNED: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.OPEN, TicketStatus.RESOLVED}
    ),
    TicketStatus.IN_PROGRESS: frozenset(
        {TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.ASSIGNED}
    ),
    TicketStatus.PENDING_CUSTOMER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.REOPENED}),
    TicketStatus.REOPENED: frozenset(
        {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED}
    ),
}


def transition(current: TicketStatus, target: TicketStatus) -> TicketStatus:
    if target not in ALLOWED[current]:
        raise InvalidTransition(current.value, target.value, [s.value for s in ALLOWED[current]])
    return target


def raise_priority(priority: Priority, steps: int) -> Priority:
    index = min(len(PRIORITY_ORDER) - 1, max(0, PRIORITY_ORDER.index(priority) + steps))
    return PRIORITY_ORDER[index]


@dataclass(frozen=True)
class TriageDecision:
    type: TicketType
    impact: Level
    urgency: Level
    priority: Priority
    queue: str
    tier: int
    explanation: list[str] = field(default_factory=list)


def decide(ticket: TicketCreatedData) -> TriageDecision:
    """Default classification, priority and queue for a new ticket, with the reasons."""
    why: list[str] = []
    kind = ticket.type_hint or TicketType.INCIDENT
    why.append(f"type {kind.value} " + ("as stated" if ticket.type_hint else "by default"))
    impact = ticket.impact or Level.MEDIUM
    urgency = ticket.urgency or Level.MEDIUM
    if kind is TicketType.CONSULTATION:
        priority = Priority.LOWEST
        why.append("consultations get the lowest priority")
    else:
        priority = DEFAULT_MATRIX[(impact, urgency)]
        why.append(f"impact {impact.value} x urgency {urgency.value} gives {priority.value}")
        if ticket.service_level is not None and LEVEL_UPLIFT[ticket.service_level]:
            priority = raise_priority(priority, LEVEL_UPLIFT[ticket.service_level])
            why.append(f"service level {ticket.service_level.value} raises it to {priority.value}")
    queue = DEFAULT_QUEUE if ticket.entitled else VERIFICATION_QUEUE
    why.append(f"queue {queue}" + ("" if ticket.entitled else ": no valid contract matched"))
    return TriageDecision(kind, impact, urgency, priority, queue, 1, why)


RESOLUTION_CODES = ("solved", "workaround", "fix_pending", "fix_released", "no_fault", "duplicate")


class StatusRequest(BaseModel):
    """Move a work item along its life cycle (resolve and close have their own actions)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: TicketStatus
    reason: str = Field(default="", max_length=2_000)


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    resolution: str = Field(min_length=1, max_length=20_000, description="What solved it")
    resolution_code: str = Field(default="solved", pattern="^(" + "|".join(RESOLUTION_CODES) + ")$")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(default="confirmed by the customer", min_length=1, max_length=2_000)


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$", description="Login or short key")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    tier: int = Field(ge=1, le=3, description="1 first line, 2 specialists, 3 developers")
    queues: list[str] = Field(default_factory=list, max_length=50)
    skills: list[str] = Field(default_factory=list, max_length=50)
    capacity: int = Field(default=10, ge=0, le=500, description="Open work items at most")
    supervisor: bool = False
