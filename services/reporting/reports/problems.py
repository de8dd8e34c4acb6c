"""Reports on problem management's records, and the tickets' sites they touch (pure)."""

from __future__ import annotations

from datetime import datetime
from statistics import mean

from .common import Fact, Inputs, Record, Row, during, grouped

PRIORITY_ORDER = ("lowest", "low", "normal", "high", "highest")
AGES = ((7, "under_7_days"), (30, "7_to_30_days"), (None, "over_30_days"))


def deficiency_reports(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    """Per severity: opened and closed in the period, open at its end by age (seed 000 5c)."""
    reports = [r for r in inputs.of("deficiency_reports") if r.get("opened_at")]
    rows = []
    for key, group in grouped(reports, by or "severity").items():
        still_open = [
            r
            for r in group
            if r["opened_at"] < end and not (r.get("closed_at") and r["closed_at"] < end)
        ]
        row: Row = {
            "group": key,
            "opened": sum(during(r, "opened_at", start, end) for r in group),
            "closed": sum(during(r, "closed_at", start, end) for r in group),
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
        published = during(a, "published_at", start, end)
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
    closed = [p for p in inputs.of("problems") if during(p, "closed_at", start, end)]
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
        if not during(p, "resolved_at", start, end):
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
    sites: dict[tuple[str, str], list[Fact]] = {site: [] for site in inputs.sites}
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
