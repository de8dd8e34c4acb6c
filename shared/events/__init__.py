"""Every Switchboard event, once. Services import these; nobody re-declares an event shape."""

from __future__ import annotations

from typing import Any

from .envelope import (
    EVENT_CLASSES,
    Event,
    EventData,
    MalformedEvent,
    UnknownEvent,
    parse_event,
    register,
)
from .intake import INTAKE_EVENTS, TicketCreated, TicketCreatedData
from .problems import PROBLEMS_EVENTS
from .reporting import REPORTING_EVENTS
from .sla import SLA_EVENTS, SlaClockStarted, SlaClockStartedData, SlaTarget
from .triage import TRIAGE_EVENTS, TicketTriaged, TicketTriagedData

EVENTS_BY_PRODUCER: dict[str, tuple[type[Event[Any]], ...]] = {
    "intake": INTAKE_EVENTS,
    "triage": TRIAGE_EVENTS,
    "sla": SLA_EVENTS,
    "problems": PROBLEMS_EVENTS,
    "reporting": REPORTING_EVENTS,
}
for _classes in EVENTS_BY_PRODUCER.values():
    register(*_classes)

__all__ = [
    "EVENT_CLASSES",
    "EVENTS_BY_PRODUCER",
    "Event",
    "EventData",
    "MalformedEvent",
    "SlaClockStarted",
    "SlaClockStartedData",
    "SlaTarget",
    "TicketCreated",
    "TicketCreatedData",
    "TicketTriaged",
    "TicketTriagedData",
    "UnknownEvent",
    "parse_event",
    "register",
]
