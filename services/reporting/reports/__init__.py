"""Reports computed from the tickets' fact documents (pure): each is rows of named columns for a
period, grouped by what the caller asks, ready for JSON or CSV. This is the catalogue;
tickets.py and problems.py make the rows, and ../reads.py says what each reads for a period.

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
from collections.abc import Callable
from datetime import datetime

from shared.errors import FieldInvalid, NotFound

from .common import DIMENSIONS, Inputs, ReportInfo, Row
from .problems import (
    PRIORITY_ORDER,
    advisories,
    deficiency_reports,
    lessons,
    problem_fixes,
    releases,
    site_status,
)
from .tickets import agents, resolution, service_levels, sla_compliance, trouble_calls

__all__ = ["PRIORITY_ORDER", "REPORTS", "Inputs", "ReportInfo", "Row", "build", "info_of", "to_csv"]


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
            title="Feedback on problem fixes: incidents, ratings and reopens before and after",
            group_by=[],
            columns=["group", "fix", "incidents", "rating_mean", "reopen_rate"],
        ),
        problem_fixes,
    ),
    "site-status": (
        ReportInfo(
            name="site-status",
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
