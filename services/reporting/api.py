"""Reporting's HTTP routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from shared.auth import STAFF, Principal, require
from shared.errors import FieldInvalid, NotFound
from shared.runtime import app_deps

from . import service
from .reports import REPORTS, ReportInfo, to_csv
from .service import ReportingDeps, Summary

router = APIRouter(prefix="/v1", tags=["reports"])
Deps = Annotated[ReportingDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


@router.get("/summary", response_model=Summary)
async def get_summary(
    _: Staff,
    deps: Deps,
    since: Annotated[date | None, Query(description="First day counted")] = None,
) -> Summary:
    """Live counters: tickets created, triaged, resolved, closed; SLA clocks; queues, priorities."""
    return await service.summary(since, deps)


@router.get("/facts/{ticket_id}")
async def get_fact(ticket_id: str, _: Staff, deps: Deps) -> dict[str, object]:
    """A ticket's fact document as the event log tells it: stage times and durations (seconds),
    classification, routing, agent, organisation, site, channel, reopen count, first-contact
    resolution, SLA outcome per target, feedback."""
    found = await service.fact(ticket_id, deps)
    if found is None:
        raise NotFound(f"no facts for ticket {ticket_id} (yet)")
    return found


@router.get("/reports", response_model=list[ReportInfo])
async def catalogue(_: Staff) -> list[ReportInfo]:
    """The reports there are, what they can be grouped by and their columns."""
    return [info for info, _ in REPORTS.values()]


@router.get("/reports/{name}", response_model=None)
async def get_report(
    name: str,
    _: Staff,
    deps: Deps,
    start: Annotated[datetime, Query(alias="from", description="Start of the period")],
    end: Annotated[datetime, Query(alias="to", description="End of the period (excluded)")],
    group_by: Annotated[str | None, Query(description="A dimension of the report")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response | dict[str, object]:
    """A report for a period, as JSON (rows) or CSV (a download)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise FieldInvalid("from", "give times with their offset, e.g. 2026-11-01T00:00:00Z")
    info, rows = await service.report(name, start, end, group_by, deps)
    if format == "csv":
        filename = f"{name}_{start.date()}_{end.date()}.csv"
        return Response(
            content=to_csv(info, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return {
        "report": name,
        "title": info.title,
        "from": start,
        "to": end,
        "group_by": group_by,
        "columns": info.columns,
        "rows": rows,
    }
