"""Reports on the tickets, from their fact documents (pure)."""

from __future__ import annotations

from datetime import datetime
from statistics import mean, median

from .common import TARGETS, Inputs, Row, during, grouped


def trouble_calls(inputs: Inputs, start: datetime, end: datetime, by: str | None) -> list[Row]:
    rows = []
    for key, group in grouped(inputs.facts, by).items():
        opened = sum(during(f, "created_at", start, end) for f in group)
        closed = sum(during(f, "closed_at", start, end) for f in group)
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
    opened = [f for f in inputs.facts if during(f, "created_at", start, end)]
    rows = []
    for key, group in grouped(opened, by).items():
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
    resolved = [f for f in inputs.facts if during(f, "resolved_at", start, end)]
    rows = []
    for key, group in grouped(resolved, by).items():
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
    resolved = [
        f for f in inputs.facts if during(f, "resolved_at", start, end) and f.get("assignee")
    ]
    rows = []
    for key, group in grouped(resolved, by or "assignee").items():
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
    opened = [f for f in inputs.facts if during(f, "created_at", start, end)]
    rows = []
    for key, group in grouped(opened, by or "service_level").items():
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
