"""Reports computed from the tickets' fact documents (pure): each is rows of named columns for a
period, grouped by what the caller asks, ready for JSON or CSV.

- trouble-calls: tickets opened, closed and still open, by a dimension (seed 000 5a);
- sla-compliance: per target, the share met and the breaches (seed 001, seed 003);
- resolution: time to first response, to resolve (mean and median, wall-clock hours),
  first-contact resolution and reopen rates (seed 001);
- agents: per agent, tickets resolved, speed, reopens, escalations and ratings;
- service-levels: the period per service level (seed 001's monthly performance report).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from statistics import mean, median
from typing import Any

from pydantic import BaseModel, Field

from shared.errors import FieldInvalid, NotFound

Fact = dict[str, Any]
Row = dict[str, Any]
DIMENSIONS = ("channel", "type", "priority", "queue", "organization_id", "site", "service_level")
TARGETS = ("first_response", "next_update", "resolution")


class ReportInfo(BaseModel):
    name: str
    title: str
    group_by: list[str] = Field(description="Dimensions it can be grouped by")
    columns: list[str]


def _group(facts: Iterable[Fact], by: str | None) -> dict[str, list[Fact]]:
    groups: dict[str, list[Fact]] = {}
    for fact in facts:
        key = "all" if by is None else str(fact.get(by) or "-")
        groups.setdefault(key, []).append(fact)
    return dict(sorted(groups.items()))


def _in(fact: Fact, field: str, start: datetime, end: datetime) -> bool:
    moment = fact.get(field)
    return moment is not None and start <= moment < end


def trouble_calls(facts: list[Fact], start: datetime, end: datetime, by: str | None) -> list[Row]:
    rows = []
    for key, group in _group(facts, by).items():
        opened = sum(_in(f, "created_at", start, end) for f in group)
        closed = sum(_in(f, "closed_at", start, end) for f in group)
        backlog = sum(
            1
            for f in group
            if f.get("created_at")
            and f["created_at"] < end
            and not (f.get("closed_at") and f["closed_at"] < end)
        )
        if opened or closed or backlog:
            rows.append({"group": key, "opened": opened, "closed": closed, "backlog": backlog})
    return rows


def sla_compliance(facts: list[Fact], start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Targets decided (met or breached) for tickets opened in the period."""
    opened = [f for f in facts if _in(f, "created_at", start, end)]
    rows = []
    for key, group in _group(opened, by).items():
        for target in TARGETS:
            outcomes = [(f.get("sla") or {}).get(target) for f in group]
            met = outcomes.count("met")
            breached = outcomes.count("breached")
            if met + breached:
                rows.append(
                    {
                        "group": key,
                        "target": target,
                        "met": met,
                        "breached": breached,
                        "met_share": round(met / (met + breached), 4),
                    }
                )
    return rows


def _hours(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(mean(values) / 3600, 3), round(median(values) / 3600, 3)


def resolution(facts: list[Fact], start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Tickets resolved in the period: how fast, how often at first contact, how often reopened."""
    resolved = [f for f in facts if _in(f, "resolved_at", start, end)]
    rows = []
    for key, group in _group(resolved, by).items():
        response = [f["time_to_first_response"] for f in group if "time_to_first_response" in f]
        resolve = [f["time_to_resolve"] for f in group if "time_to_resolve" in f]
        mean_response, median_response = _hours(response)
        mean_resolve, median_resolve = _hours(resolve)
        at_first = sum(bool(f.get("first_contact_resolution")) for f in group)
        reopened = sum(bool(f.get("reopen_count")) for f in group)
        rows.append(
            {
                "group": key,
                "resolved": len(group),
                "first_response_hours_mean": mean_response,
                "first_response_hours_median": median_response,
                "resolve_hours_mean": mean_resolve,
                "resolve_hours_median": median_resolve,
                "first_contact_rate": round(at_first / len(group), 4),
                "reopen_rate": round(reopened / len(group), 4),
            }
        )
    return rows


def agents(facts: list[Fact], start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Per agent (the last assignee), tickets resolved in the period: how many, how fast, how
    often reopened, and the customers' ratings."""
    resolved = [f for f in facts if _in(f, "resolved_at", start, end) and f.get("assignee")]
    rows = []
    for key, group in _group(resolved, by or "assignee").items():
        mean_resolve, _ = _hours([f["time_to_resolve"] for f in group if "time_to_resolve" in f])
        ratings = [f["feedback"]["rating"] for f in group if f.get("feedback")]
        rows.append(
            {
                "group": key,
                "resolved": len(group),
                "resolve_hours_mean": mean_resolve,
                "reopened": sum(bool(f.get("reopen_count")) for f in group),
                "escalated": sum(bool(f.get("escalations")) for f in group),
                "rating_mean": round(mean(ratings), 2) if ratings else None,
                "ratings": len(ratings),
            }
        )
    return rows


def service_levels(facts: list[Fact], start: datetime, end: datetime, by: str | None) -> list[Row]:
    """The period's performance per service level (seed 001's monthly report): tickets opened
    and resolved, SLA targets met, customer rating."""
    opened = [f for f in facts if _in(f, "created_at", start, end)]
    rows = []
    for key, group in _group(opened, by or "service_level").items():
        outcomes = [o for f in group for o in (f.get("sla") or {}).values()]
        decided = outcomes.count("met") + outcomes.count("breached")
        ratings = [f["feedback"]["rating"] for f in group if f.get("feedback")]
        rows.append(
            {
                "group": key,
                "opened": len(group),
                "resolved": sum(bool(f.get("resolved_at")) for f in group),
                "sla_met_share": round(outcomes.count("met") / decided, 4) if decided else None,
                "sla_breaches": outcomes.count("breached"),
                "rating_mean": round(mean(ratings), 2) if ratings else None,
            }
        )
    return rows


Builder = Callable[[list[Fact], datetime, datetime, str | None], list[Row]]
REPORTS: dict[str, tuple[ReportInfo, Builder]] = {
    "trouble-calls": (
        ReportInfo(
            name="trouble-calls",
            title="Trouble calls: opened, closed and open at the end of the period",
            group_by=list(DIMENSIONS),
            columns=["group", "opened", "closed", "backlog"],
        ),
        trouble_calls,
    ),
    "sla-compliance": (
        ReportInfo(
            name="sla-compliance",
            title="SLA compliance: targets met and breached, tickets opened in the period",
            group_by=list(DIMENSIONS),
            columns=["group", "target", "met", "breached", "met_share"],
        ),
        sla_compliance,
    ),
    "resolution": (
        ReportInfo(
            name="resolution",
            title="Resolution: time to respond and resolve, first-contact and reopen rates",
            group_by=[*DIMENSIONS, "assignee"],
            columns=[
                "group",
                "resolved",
                "first_response_hours_mean",
                "first_response_hours_median",
                "resolve_hours_mean",
                "resolve_hours_median",
                "first_contact_rate",
                "reopen_rate",
            ],
        ),
        resolution,
    ),
    "agents": (
        ReportInfo(
            name="agents",
            title="Agent performance: tickets resolved, speed, reopens, escalations, ratings",
            group_by=["assignee", "queue"],
            columns=[
                "group",
                "resolved",
                "resolve_hours_mean",
                "reopened",
                "escalated",
                "rating_mean",
                "ratings",
            ],
        ),
        agents,
    ),
    "service-levels": (
        ReportInfo(
            name="service-levels",
            title="Performance per service level: opened, resolved, SLA met, ratings",
            group_by=["service_level", "organization_id"],
            columns=[
                "group",
                "opened",
                "resolved",
                "sla_met_share",
                "sla_breaches",
                "rating_mean",
            ],
        ),
        service_levels,
    ),
}


def build(
    name: str, facts: list[Fact], start: datetime, end: datetime, group_by: str | None
) -> tuple[ReportInfo, list[Row]]:
    if name not in REPORTS:
        raise NotFound(f"no report {name}; there are {sorted(REPORTS)}")
    info, builder = REPORTS[name]
    if group_by is not None and group_by not in info.group_by:
        raise FieldInvalid("group_by", f"{name} groups by one of {info.group_by}")
    if end <= start:
        raise FieldInvalid("to", "the period must end after it starts")
    return info, builder(facts, start, end, group_by)


def to_csv(info: ReportInfo, rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=info.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
