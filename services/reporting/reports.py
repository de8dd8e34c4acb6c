"""Reports computed from the tickets' fact documents (pure): each is rows of named columns for a
period, grouped by what the caller asks, ready for JSON or CSV.

- trouble-calls: tickets opened, closed and still open, by a dimension (seed 000 5a);
- sla-compliance: per target, the share met and the breaches (seed 001, seed 003);
- resolution: time to first response, to resolve (mean and median, wall-clock hours), MTTA
  and MTTR in business hours (the SLA's business time a stopped target used, from
  sla.target_stopped), first-contact resolution and reopen rates (seed 001);
- agents: per agent, tickets resolved, speed, reopens, escalations and ratings;
- service-levels: the period per service level (seed 001's monthly performance report);
- deficiency-reports, advisories, releases, lessons-learned, problem-fixes, site-status:
  from problem management's records (seed 000 step 5).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median
from typing import Any

from pydantic import BaseModel, Field

from shared.errors import FieldInvalid, NotFound

Fact = dict[str, Any]
Row = dict[str, Any]
Record = dict[str, Any]
DIMENSIONS = ("channel", "type", "priority", "queue", "organization_id", "site", "service_level")
TARGETS = ("first_response", "next_update", "resolution")


@dataclass
class Inputs:
    """What reports are made from: the tickets' facts, and problem management's records by kind
    (deficiency_reports, advisories, releases, problems)."""

    facts: list[Fact]
    records: dict[str, list[Record]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Record]:
        return self.records.get(kind, [])


class ReportInfo(BaseModel):
    name: str
    title: str
    group_by: list[str] = Field(description="Dimensions it can be grouped by")
    columns: list[str]
    reads_facts: bool = Field(default=True, exclude=True)
    reads_records: list[str] = Field(default_factory=list, exclude=True)


def _group(facts: Iterable[Fact], by: str | None) -> dict[str, list[Fact]]:
    groups: dict[str, list[Fact]] = {}
    for fact in facts:
        key = "all" if by is None else str(fact.get(by) or "-")
        groups.setdefault(key, []).append(fact)
    return dict(sorted(groups.items()))


def _in(fact: Fact, field: str, start: datetime, end: datetime) -> bool:
    moment = fact.get(field)
    return moment is not None and start <= moment < end


def trouble_calls(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    rows = []
    for key, group in _group(inputs.facts, by).items():
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


def sla_compliance(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Targets decided (met or breached) for tickets opened in the period."""
    opened = [f for f in inputs.facts if _in(f, "created_at", start, end)]
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


def resolution(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Tickets resolved in the period: how fast, how often at first contact, how often reopened."""
    resolved = [f for f in inputs.facts if _in(f, "resolved_at", start, end)]
    rows = []
    for key, group in _group(resolved, by).items():
        response = [f["time_to_first_response"] for f in group if "time_to_first_response" in f]
        resolve = [f["time_to_resolve"] for f in group if "time_to_resolve" in f]
        mean_response, median_response = _hours(response)
        mean_resolve, median_resolve = _hours(resolve)
        used = [f.get("business_seconds") or {} for f in group]
        mtta, _ = _hours([u["first_response"] for u in used if "first_response" in u])
        mttr, _ = _hours([u["resolution"] for u in used if "resolution" in u])
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
                "mtta_business_hours": mtta,
                "mttr_business_hours": mttr,
                "first_contact_rate": round(at_first / len(group), 4),
                "reopen_rate": round(reopened / len(group), 4),
            }
        )
    return rows


def agents(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Per agent (the last assignee), tickets resolved in the period: how many, how fast, how
    often reopened, and the customers' ratings."""
    resolved = [f for f in inputs.facts if _in(f, "resolved_at", start, end) and f.get("assignee")]
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


def service_levels(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """The period's performance per service level (seed 001's monthly report): tickets opened
    and resolved, SLA targets met, customer rating."""
    opened = [f for f in inputs.facts if _in(f, "created_at", start, end)]
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


PRIORITY_ORDER = ("lowest", "low", "normal", "high", "highest")
AGES = ((7, "under_7_days"), (30, "7_to_30_days"), (None, "over_30_days"))


def deficiency_reports(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Per severity: opened and closed in the period, open at its end by age (seed 000 5c)."""
    reports = [r for r in inputs.of("deficiency_reports") if r.get("opened_at")]
    rows = []
    for key, group in _group(reports, by or "severity").items():
        still_open = [
            r
            for r in group
            if r["opened_at"] < end and not (r.get("closed_at") and r["closed_at"] < end)
        ]
        row: Row = {
            "group": key,
            "opened": sum(_in(r, "opened_at", start, end) for r in group),
            "closed": sum(_in(r, "closed_at", start, end) for r in group),
            "open": len(still_open),
        }
        for _, label in AGES:
            row[f"open_{label}"] = 0
        for r in still_open:
            days = (end - r["opened_at"]).total_seconds() / 86400
            label = next(lbl for limit, lbl in AGES if limit is None or days < limit)
            row[f"open_{label}"] += 1
        rows.append(row)
    return rows


def _in_force(advisory: Record, moment: datetime) -> bool:
    ends = advisory.get("ends_at")
    return advisory.get("published_at", moment) <= moment and (ends is None or ends > moment)


def advisories(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Notices published in the period, and those still in force at its end (seed 000 5d)."""
    rows = []
    for a in sorted(inputs.of("advisories"), key=lambda a: (a["published_at"], a["advisory_id"])):
        published = _in(a, "published_at", start, end)
        if not published and not _in_force(a, end):
            continue
        audience = (
            "everyone"
            if a.get("everyone")
            or not (a.get("organization_ids") or a.get("sites") or a.get("products"))
            else ", ".join(
                [*a.get("organization_ids", []), *a.get("sites", []), *a.get("products", [])]
            )
        )
        rows.append(
            {
                "group": a.get("kind", "advisory"),
                "advisory_id": a["advisory_id"],
                "title": a.get("title", ""),
                "published_at": a["published_at"],
                "starts_at": a.get("starts_at"),
                "ends_at": a.get("ends_at"),
                "audience": audience,
                "in_force_at_end": _in_force(a, end),
            }
        )
    return rows


def releases(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Releases published by the end of the period: the current one per product and the
    versions supported (seed 000 5e)."""
    out = [r for r in inputs.of("releases") if r.get("published_at") and r["published_at"] < end]
    latest: dict[str, Record] = {}
    for r in sorted(out, key=lambda r: (r["released_on"], r["version"])):
        latest[r.get("product") or "-"] = r
    return [
        {
            "group": r.get("product") or "-",
            "version": r["version"],
            "released_on": r["released_on"].date().isoformat(),
            "supported": r.get("supported", True),
            "current": latest[r.get("product") or "-"] is r,
            "fixed_reports": len(r.get("fixed_reports", [])),
            "tickets": len(r.get("ticket_ids", [])),
        }
        for r in sorted(
            out, key=lambda r: (r.get("product") or "-", r["released_on"]), reverse=True
        )
    ]


def lessons(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Problems closed in the period with what they taught (seed 000 5f)."""
    closed = [p for p in inputs.of("problems") if _in(p, "closed_at", start, end)]
    return [
        {
            "group": p["problem_id"],
            "title": p.get("title", ""),
            "root_cause": p.get("root_cause"),
            "fix": p.get("fix"),
            "lessons_learned": p.get("lessons_learned"),
            "incidents": len(p.get("ticket_ids", [])),
            "closed_at": p["closed_at"],
        }
        for p in sorted(closed, key=lambda p: p["closed_at"])
    ]


def problem_fixes(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """For each problem resolved in the period, its incidents before and after the fix: how
    many, how satisfied the customers were, how often tickets reopened (seed 000 5g)."""
    facts = {f["ticket_id"]: f for f in inputs.facts}
    rows = []
    for p in sorted(inputs.of("problems"), key=lambda p: p["problem_id"]):
        if not _in(p, "resolved_at", start, end):
            continue
        for when in ("before", "after"):
            group = [
                facts[t]
                for t in p.get("ticket_ids", [])
                if t in facts
                and facts[t].get("created_at")
                and (facts[t]["created_at"] < p["resolved_at"]) == (when == "before")
            ]
            ratings = [f["feedback"]["rating"] for f in group if f.get("feedback")]
            rows.append(
                {
                    "group": p["problem_id"],
                    "fix": when,
                    "incidents": len(group),
                    "rating_mean": round(mean(ratings), 2) if ratings else None,
                    "reopen_rate": round(
                        sum(bool(f.get("reopen_count")) for f in group) / len(group), 4
                    )
                    if group
                    else None,
                }
            )
    return rows


def site_status(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Per organisation and site at the period's end: open incidents, the outages among them
    (incidents at the highest priority), the worst priority, and the notices in force there
    (seed 000 5b)."""
    open_incidents = [
        f
        for f in inputs.facts
        if f.get("type") == "incident"
        and f.get("created_at")
        and f["created_at"] < end
        and not (f.get("closed_at") and f["closed_at"] < end)
    ]
    sites: dict[tuple[str, str], list[Fact]] = {}
    for f in inputs.facts:
        if f.get("organization_id"):
            sites.setdefault((f["organization_id"], f.get("site") or "-"), [])
    for f in open_incidents:
        sites.setdefault((f.get("organization_id") or "-", f.get("site") or "-"), []).append(f)
    in_force = [a for a in inputs.of("advisories") if _in_force(a, end)]
    rows = []
    for (organization, site), incidents in sorted(sites.items()):
        priorities = [f.get("priority") for f in incidents if f.get("priority") in PRIORITY_ORDER]
        notices = [
            a["advisory_id"]
            for a in in_force
            if a.get("everyone")
            or organization in a.get("organization_ids", [])
            or site in a.get("sites", [])
            or not (a.get("organization_ids") or a.get("sites") or a.get("products"))
        ]
        rows.append(
            {
                "group": organization,
                "site": site,
                "open_incidents": len(incidents),
                "outages": sum(f.get("priority") == "highest" for f in incidents),
                "worst_priority": max(priorities, key=PRIORITY_ORDER.index) if priorities else None,
                "notices_in_force": ", ".join(sorted(notices)),
            }
        )
    return rows


Builder = Callable[[Inputs, datetime, datetime, str | None], list[Row]]
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
                "mtta_business_hours",
                "mttr_business_hours",
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
    "deficiency-reports": (
        ReportInfo(
            name="deficiency-reports",
            reads_facts=False,
            reads_records=["deficiency_reports"],
            title="Deficiency reports: opened, closed, and open by age, per severity",
            group_by=["severity", "status"],
            columns=[
                "group",
                "opened",
                "closed",
                "open",
                "open_under_7_days",
                "open_7_to_30_days",
                "open_over_30_days",
            ],
        ),
        deficiency_reports,
    ),
    "advisories": (
        ReportInfo(
            name="advisories",
            reads_facts=False,
            reads_records=["advisories"],
            title="Advisory notices published in the period or in force at its end",
            group_by=[],
            columns=[
                "group",
                "advisory_id",
                "title",
                "published_at",
                "starts_at",
                "ends_at",
                "audience",
                "in_force_at_end",
            ],
        ),
        advisories,
    ),
    "releases": (
        ReportInfo(
            name="releases",
            reads_facts=False,
            reads_records=["releases"],
            title="Current release and versions supported, per product",
            group_by=[],
            columns=[
                "group",
                "version",
                "released_on",
                "supported",
                "current",
                "fixed_reports",
                "tickets",
            ],
        ),
        releases,
    ),
    "lessons-learned": (
        ReportInfo(
            name="lessons-learned",
            reads_facts=False,
            reads_records=["problems"],
            title="Lessons learned from the problems closed in the period",
            group_by=[],
            columns=[
                "group",
                "title",
                "root_cause",
                "fix",
                "lessons_learned",
                "incidents",
                "closed_at",
            ],
        ),
        lessons,
    ),
    "problem-fixes": (
        ReportInfo(
            name="problem-fixes",
            reads_records=["problems"],
            title="Feedback on problem fixes: incidents, ratings and reopens before and after",
            group_by=[],
            columns=["group", "fix", "incidents", "rating_mean", "reopen_rate"],
        ),
        problem_fixes,
    ),
    "site-status": (
        ReportInfo(
            name="site-status",
            reads_records=["advisories"],
            title="Site status: open incidents, worst priority and notices in force",
            group_by=[],
            columns=[
                "group",
                "site",
                "open_incidents",
                "outages",
                "worst_priority",
                "notices_in_force",
            ],
        ),
        site_status,
    ),
}


def info_of(name: str, group_by: str | None = None, field: str = "name") -> ReportInfo:
    """The report's description, checking the grouping asked for."""
    if name not in REPORTS:
        if field == "name":
            raise NotFound(f"no report {name}; there are {sorted(REPORTS)}")
        raise FieldInvalid(field, f"no report {name}; there are {sorted(REPORTS)}")
    info = REPORTS[name][0]
    if group_by is not None and group_by not in info.group_by:
        raise FieldInvalid("group_by", f"{name} groups by one of {info.group_by}")
    return info


def build(
    name: str, inputs: Inputs, start: datetime, end: datetime, group_by: str | None
) -> tuple[ReportInfo, list[Row]]:
    info = info_of(name, group_by)
    if end <= start:
        raise FieldInvalid("to", "the period must end after it starts")
    return info, REPORTS[name][1](inputs, start, end, group_by)


def to_csv(info: ReportInfo, rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=info.columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
