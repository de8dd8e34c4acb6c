"""A fact document per ticket, from the event log alone: when each stage happened, how it was
classified and routed, who had it, how it ended, the SLA outcome per target, the feedback, and
the durations between the stages (stored, so reports read them as they are).

A ticket's facts come from three topics (intake, triage, sla), whose consumers may write the
document at the same time: the store writes it by compare-and-set on its revision, and the rules
here give the same facts whatever order the topics' events interleave in (each field has one
topic that sets it; the service level triage decided wins over intake's). An event is applied
once: the document remembers the last offset it applied per topic partition (a redelivery by
Kafka) and the ids of the latest events applied (the same event published again at a new offset,
which a rebuild from offset 0 replays). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from shared.events import Event
from shared.events.common import AuthorType, Visibility
from shared.events.intake import TicketCreated, TicketFeedbackReceived, TicketMessageAdded
from shared.events.sla import SlaAtRisk, SlaBreached, SlaClockStarted, SlaMet, SlaTargetStopped
from shared.events.triage import (
    TicketAssigned,
    TicketClosed,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
    TicketTriaged,
)

FACT_SOURCES = {
    "intake": (TicketCreated, TicketMessageAdded, TicketFeedbackReceived),
    "triage": (
        TicketTriaged,
        TicketAssigned,
        TicketEscalated,
        TicketResolved,
        TicketReopened,
        TicketClosed,
    ),
    "sla": (SlaClockStarted, SlaMet, SlaBreached, SlaAtRisk, SlaTargetStopped),
}
FACT_TYPES = frozenset(cls.event_type() for kinds in FACT_SOURCES.values() for cls in kinds)
RECENT_IDS = 100
"""Event ids remembered per topic partition: a publisher repeats an event (a relay that died
between publishing and removing it) soon after the first time."""
DURATIONS = (
    ("time_to_triage", "created_at", "triaged_at"),
    ("time_to_first_response", "created_at", "first_response_at"),
    ("time_to_resolve", "created_at", "resolved_at"),
    ("time_to_close", "created_at", "closed_at"),
)
Fact = dict[str, Any]


@dataclass(frozen=True)
class Position:
    """Where an event was read: its topic partition (domain.stream_key) and offset."""

    stream: str
    offset: int


class FactDocument(BaseModel):
    """A ticket's facts with what they were made from."""

    fact: Fact = Field(default_factory=dict)
    offsets: dict[str, int] = Field(default_factory=dict, description="stream -> last applied")
    seen: dict[str, list[str]] = Field(default_factory=dict, description="stream -> recent ids")
    revision: int = 0


def applied(doc: FactDocument, event: Event[Any], at: Position) -> FactDocument | None:
    """The document after the event; None when it changes nothing (an event applied before, or
    one that says nothing new)."""
    recent = doc.seen.get(at.stream, [])
    if doc.offsets.get(at.stream, -1) >= at.offset or event.id in recent:
        return None
    fields = _fields(event, doc.fact)
    if fields is None:
        return None
    return doc.model_copy(
        update={
            "fact": derived({**doc.fact, **fields}),
            "offsets": {**doc.offsets, at.stream: at.offset},
            "seen": {**doc.seen, at.stream: [*recent, event.id][-RECENT_IDS:]},
        }
    )


def derived(fact: Fact) -> Fact:
    """The fact with what follows from its times and outcomes: durations in seconds, and
    first-contact resolution."""
    out = dict(fact)
    for name, start, end in DURATIONS:
        if out.get(start) and out.get(end):
            out[name] = round((out[end] - out[start]).total_seconds(), 3)
    out["first_contact_resolution"] = bool(
        out.get("resolved_on_contact") or (out.get("first_contact") and not out.get("reopen_count"))
    )
    return out


def _fields(event: Event[Any], fact: Fact) -> Fact | None:
    """What the event sets, decided from its own topic's fields only (but intake's service level
    yields to triage's), so the topics' events may interleave in any order."""
    if isinstance(event, FACT_SOURCES["intake"]):
        return _intake_fields(event, fact)
    if isinstance(event, FACT_SOURCES["triage"]):
        return _triage_fields(event, fact)
    return _sla_fields(event, fact)


def _intake_fields(event: Event[Any], fact: Fact) -> Fact | None:
    data = event.data
    if isinstance(event, TicketCreated):
        created: Fact = {
            "number": data.number,
            "created_at": data.created_at,
            "channel": data.channel.value,
            "organization_id": data.organization_id,
            "site": data.site,
            "entitled": data.entitled,
            "resolved_on_contact": data.resolved_on_contact,
        }
        if not fact.get("triaged_at"):  # triage's service level, once there, stands
            created["service_level"] = data.service_level.value if data.service_level else None
        return created
    if isinstance(event, TicketMessageAdded):
        public_reply = data.author_type is AuthorType.AGENT and data.visibility is Visibility.PUBLIC
        if not public_reply or fact.get("first_response_at"):
            return None
        return {"first_response_at": event.time}
    if isinstance(event, TicketFeedbackReceived):
        return {"feedback": {"rating": data.rating, "comment": data.comment, "at": event.time}}
    return None


def _triage_fields(event: Event[Any], fact: Fact) -> Fact | None:
    data = event.data
    at = event.time
    if isinstance(event, TicketTriaged):
        first = {} if fact.get("triaged_at") else {"triaged_at": at}
        return {
            **first,
            "type": data.type.value,
            "priority": data.priority.value,
            "service_level": data.service_level.value if data.service_level else None,
            "queue": data.queue,
            "tier": data.tier,
            "max_tier": max(data.tier, fact.get("max_tier") or 0),
        }
    if isinstance(event, TicketAssigned):
        first = {} if fact.get("first_assigned_at") else {"first_assigned_at": at}
        return {**first, "assignee": data.assignee, "queue": data.queue, "tier": data.tier}
    if isinstance(event, TicketEscalated):
        return {
            "tier": data.to_tier,
            "max_tier": max(data.to_tier, fact.get("max_tier") or 0),
            "queue": data.queue,
            "escalations": (fact.get("escalations") or 0) + 1,
        }
    if isinstance(event, TicketResolved):
        return {
            "resolved_at": at,
            "resolution_code": data.resolution_code,
            "first_contact": data.first_contact,
            "resolutions": (fact.get("resolutions") or 0) + 1,
        }
    if isinstance(event, TicketReopened):
        return {"reopen_count": max(data.reopen_count, fact.get("reopen_count") or 0)}
    if isinstance(event, TicketClosed):
        return {"closed_at": at}
    return None


def _sla_fields(event: Event[Any], fact: Fact) -> Fact | None:
    data = event.data
    if isinstance(event, SlaClockStarted):
        return {"policy_id": data.policy_id, "calendar_id": data.calendar_id}
    if isinstance(event, SlaTargetStopped):  # final business time; a reopen stops it again
        used = {**(fact.get("business_seconds") or {}), data.target: data.elapsed_seconds}
        return {"business_seconds": used}
    targets: dict[str, str] = dict(fact.get("sla") or {})
    if isinstance(event, SlaBreached):
        targets[data.target] = "breached"
    elif isinstance(event, SlaMet):
        if targets.get(data.target) == "breached":
            return None  # a target breached stays breached (next update rounds restart later)
        targets[data.target] = "met"
    elif isinstance(event, SlaAtRisk):
        return {"at_risk": sorted({*fact.get("at_risk", []), data.target})}
    else:
        return None
    return {"sla": targets}
