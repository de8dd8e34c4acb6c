"""Reporting's HTTP routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from shared.auth import STAFF, Principal, Role, require
from shared.errors import FieldInvalid, NotFound
from shared.paging import BY_ID, Order, Page, Paging, page, slice_of
from shared.runtime import app_deps
from shared.strict import IsoDate, IsoDatetime

from . import scheduled, service
from .reports import REPORTS, ReportInfo, to_csv
from .schedules import Schedule, ScheduleRequest
from .service import ReportingDeps, Summary
from .store import NEWEST_GENERATED

router = APIRouter(prefix="/v1", tags=["reports"])
Deps = Annotated[ReportingDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Lead = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]


@router.get("/summary", response_model=Summary)
async def get_summary(
    _: Staff,
    deps: Deps,
    since: Annotated[IsoDate | None, Query(description="First day counted")] = None,
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


BY_NAME = Order((("name", 1, str),))


@router.get("/reports", response_model=Page[ReportInfo])
async def catalogue(_: Staff, paging: Paging) -> Page[ReportInfo]:
    """The reports there are, what they can be grouped by and their columns; by name."""
    return page(slice_of([info for info, _ in REPORTS.values()], BY_NAME, paging))


@router.get("/reports/{name}", response_model=None)
async def get_report(
    name: str,
    _: Staff,
    deps: Deps,
    start: Annotated[IsoDatetime, Query(alias="from", description="Start of the period")],
    end: Annotated[IsoDatetime, Query(alias="to", description="End of the period (excluded)")],
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


@router.post("/report-schedules", response_model=Schedule, status_code=201)
async def add_schedule(body: ScheduleRequest, user: Lead, deps: Deps) -> Schedule:
    """Make a report daily, weekly or monthly for the period just ended, and mail it."""
    return await scheduled.add_schedule(body, user.email or user.sub, deps)


@router.get("/report-schedules", response_model=Page[Schedule])
async def list_schedules(_: Staff, deps: Deps, paging: Paging) -> Page[Schedule]:
    """The report schedules, by id."""
    return page(await scheduled.list_schedules(deps, paging.limit, paging.after(BY_ID)))


@router.delete("/report-schedules/{schedule_id}", status_code=204)
async def remove_schedule(schedule_id: str, _: Lead, deps: Deps) -> Response:
    await scheduled.remove_schedule(schedule_id, deps)
    return Response(status_code=204)


@router.get("/generated-reports", response_model=Page[dict[str, Any]])
async def list_generated(_: Staff, deps: Deps, paging: Paging) -> Page[dict[str, Any]]:
    """Reports made by the schedules, newest first (without their chart and CSV)."""
    assert deps.schedules is not None
    after = paging.after(NEWEST_GENERATED)
    return page(await deps.schedules.list_generated(paging.limit, after))


@router.get("/generated-reports/{report_id}/chart.png", response_model=None)
async def generated_chart(report_id: str, _: Staff, deps: Deps) -> Response:
    stored = await _generated(report_id, deps)
    return Response(content=bytes(stored["png"]), media_type="image/png")


@router.get("/generated-reports/{report_id}/report.csv", response_model=None)
async def generated_csv(report_id: str, _: Staff, deps: Deps) -> Response:
    stored = await _generated(report_id, deps)
    return Response(
        content=stored["csv"],
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report_id}.csv"'},
    )


async def _generated(report_id: str, deps: ReportingDeps) -> dict[str, Any]:
    assert deps.schedules is not None
    stored = await deps.schedules.generated(report_id)
    if stored is None:
        raise NotFound(f"no generated report {report_id}")
    return stored
