"""What problem management announced, as reporting keeps it (pure): deficiency reports,
advisory notices, releases and problems, one record each, the latest state laid over the last.

A record remembers the ids of the events laid into it, so an event delivered again changes
nothing; the store writes it by compare-and-set on its revision (two consumers of a partition
overlap while a rebalance hands it over).
"""

from __future__ import annotations

from typing import Any

from shared.events import Event
from shared.events.problems import (
    AdvisoryPublished,
    DeficiencyReportOpened,
    DeficiencyReportUpdated,
    ProblemClosed,
    ProblemCreated,
    ProblemIncidentLinked,
    ProblemResolved,
    ReleasePublished,
)

RECORD_KINDS: dict[type[Event[Any]], str] = {
    DeficiencyReportOpened: "deficiency_reports",
    DeficiencyReportUpdated: "deficiency_reports",
    AdvisoryPublished: "advisories",
    ReleasePublished: "releases",
    ProblemCreated: "problems",
    ProblemIncidentLinked: "problems",
    ProblemResolved: "problems",
    ProblemClosed: "problems",
}
RECORD_TYPES = frozenset(cls.event_type() for cls in RECORD_KINDS)
KIND_OF = {cls.event_type(): kind for cls, kind in RECORD_KINDS.items()}
CLOSED_REPORTS = frozenset({"released", "rejected", "closed"})
Record = dict[str, Any]


def record_id(event: Event[Any]) -> str:
    data = event.data
    for field in ("report_id", "advisory_id", "version", "problem_id"):
        value = getattr(data, field, None)
        if value:
            return str(value)
    return event.subject


def recorded(current: Record, event: Event[Any]) -> Record | None:
    """The record after the event; None for a redelivery."""
    if event.id in current.get("events", []):
        return None
    data = event.data.model_dump(mode="python")
    at = event.time
    kind = KIND_OF[event.type]
    update: Record = {k: v for k, v in data.items() if v is not None}
    if kind == "deficiency_reports":
        update.setdefault("opened_at", current.get("opened_at") or at)
        if data.get("status") in CLOSED_REPORTS and not current.get("closed_at"):
            update["closed_at"] = at
    elif kind == "advisories":
        update["published_at"] = at
    elif kind == "releases":
        update["published_at"] = at
        update["released_on"] = data.get("released_on") or at
    elif kind == "problems":
        update.pop("ticket_id", None)
        update.pop("unlinked", None)
        update.setdefault("opened_at", current.get("opened_at") or at)
        if isinstance(event, ProblemResolved):
            update["resolved_at"] = at
        if isinstance(event, ProblemClosed):
            update["closed_at"] = at
    return {**current, **update, "events": [*current.get("events", []), event.id]}
