"""A fact document per ticket, from the event log alone: when each stage happened, how it was
classified and routed, who had it, how it ended, the SLA outcome per target, the feedback.

A ticket's facts come from three topics (intake, triage, sla). All of a ticket's events on one
topic share a partition, and a partition has one consumer at a time, so the facts are kept as
one part per topic, each with a single writer (FerretDB loses concurrent updates of one
document); the parts are merged when read. A part remembers the event ids it applied, so a
redelivered event changes nothing. Pure: no I/O here.
"""

from __future__ import annotations

from typing import Any

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
Part = dict[str, Any]


def applied(part: Part, event: Event[Any]) -> Part | None:
    """The topic's part of the ticket's facts after the event; None when it changes nothing
    (a redelivery, or an event that says nothing new)."""
    if event.id in part.get("events", []):
        return None
    fields = _fields(event, part)
    if fields is None:
        return None
    return {**part, **fields, "events": [*part.get("events", []), event.id]}


def _fields(event: Event[Any], part: Part) -> Part | None:  # noqa: PLR0911 - one case a type
    data = event.data
    at = event.time
    if isinstance(event, TicketCreated):
        return {
            "number": data.number,
            "created_at": data.created_at,
            "channel": data.channel.value,
            "organization_id": data.organization_id,
            "site": data.site,
            "service_level": data.service_level.value if data.service_level else None,
            "entitled": data.entitled,
            "resolved_on_contact": data.resolved_on_contact,
        }
    if isinstance(event, TicketMessageAdded):
        public_reply = data.author_type is AuthorType.AGENT and data.visibility is Visibility.PUBLIC
        if not public_reply or part.get("first_response_at"):
            return None
        return {"first_response_at": at}
    if isinstance(event, TicketFeedbackReceived):
        return {"feedback": {"rating": data.rating, "comment": data.comment, "at": at}}
    if isinstance(event, TicketTriaged):
        first = {} if part.get("triaged_at") else {"triaged_at": at}
        return {
            **first,
            "type": data.type.value,
            "priority": data.priority.value,
            "service_level": data.service_level.value if data.service_level else None,
            "queue": data.queue,
            "tier": data.tier,
            "max_tier": max(data.tier, part.get("max_tier") or 0),
        }
    if isinstance(event, TicketAssigned):
        first = {} if part.get("first_assigned_at") else {"first_assigned_at": at}
        return {**first, "assignee": data.assignee, "queue": data.queue, "tier": data.tier}
    if isinstance(event, TicketEscalated):
        return {
            "tier": data.to_tier,
            "max_tier": max(data.to_tier, part.get("max_tier") or 0),
            "queue": data.queue,
            "escalations": (part.get("escalations") or 0) + 1,
        }
    if isinstance(event, TicketResolved):
        return {
            "resolved_at": at,
            "resolution_code": data.resolution_code,
            "first_contact": data.first_contact,
            "resolutions": (part.get("resolutions") or 0) + 1,
        }
    if isinstance(event, TicketReopened):
        return {"reopen_count": max(data.reopen_count, part.get("reopen_count") or 0)}
    if isinstance(event, TicketClosed):
        return {"closed_at": at}
    return _sla_fields(event, part)


def _sla_fields(event: Event[Any], part: Part) -> Part | None:
    data = event.data
    if isinstance(event, SlaClockStarted):
        return {"policy_id": data.policy_id, "calendar_id": data.calendar_id}
    if isinstance(event, SlaTargetStopped):  # final business time; a reopen stops it again
        used = {**(part.get("business_seconds") or {}), data.target: data.elapsed_seconds}
        return {"business_seconds": used}
    targets: dict[str, str] = dict(part.get("sla") or {})
    if isinstance(event, SlaBreached):
        targets[data.target] = "breached"
    elif isinstance(event, SlaMet):
        if targets.get(data.target) == "breached":
            return None  # a target breached stays breached (next update rounds restart later)
        targets[data.target] = "met"
    elif isinstance(event, SlaAtRisk):
        return {"at_risk": sorted({*part.get("at_risk", []), data.target})}
    else:
        return None
    return {"sla": targets}


def merged(parts: list[Part]) -> Part:
    """The ticket's fact document: its parts laid over each other, with what follows from them
    (durations in seconds; first-contact resolution)."""
    fact: Part = {}
    for part in parts:
        fact.update({k: v for k, v in part.items() if k not in ("events", "_id")})
    for name, start, end in (
        ("time_to_triage", "created_at", "triaged_at"),
        ("time_to_first_response", "created_at", "first_response_at"),
        ("time_to_resolve", "created_at", "resolved_at"),
        ("time_to_close", "created_at", "closed_at"),
    ):
        if fact.get(start) and fact.get(end):
            fact[name] = round((fact[end] - fact[start]).total_seconds(), 3)
    fact["first_contact_resolution"] = bool(
        fact.get("resolved_on_contact")
        or (fact.get("first_contact") and not fact.get("reopen_count"))
    )
    return fact
