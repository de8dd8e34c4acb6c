"""Releases: recorded, then published once: publishing names the tickets that waited for its
fixes and their customers (release.published: intake tells them, triage records the fix on the
tickets) and marks its deficiency reports released."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.errors import FieldInvalid
from shared.events import Event
from shared.events.problems import (
    ReleaseData,
    ReleasePublished,
)
from shared.paging import Position, Slice

from ..domain import notices as rules
from ..domain.notices import (
    Release,
    ReleaseEdit,
    ReleaseRequest,
)
from ..domain.problems import Problem
from ..domain.reports import ReportStatus, ReportUpdate
from ..store import LATEST_RELEASED, PROBLEMS, RELEASES
from . import ProblemsDeps, Repair, change_record, get_record, insert_record, who
from .reports import get_report, update


async def add_release(request: ReleaseRequest, deps: ProblemsDeps) -> Release:
    for report_id in request.fixed_reports:
        await get_report(report_id, deps)
    release = Release(**request.model_dump())
    if not await insert_record(RELEASES, release.version, release, [], deps, exists_ok=True):
        raise FieldInvalid("version", f"release {release.version} exists already")
    return release


async def get_release(version: str, deps: ProblemsDeps) -> Release:
    release: Release = await get_record(RELEASES, version, "release", deps)
    return release


async def list_releases(
    deps: ProblemsDeps, supported: bool | None, limit: int, after: Position | None
) -> Slice[Release]:
    """The latest released first (then by version)."""
    where = {} if supported is None else {"supported": supported}
    return await deps.store.page(RELEASES, Release, LATEST_RELEASED, limit, after, where)


async def edit_release(version: str, change: ReleaseEdit, deps: ProblemsDeps) -> Release:
    for report_id in change.fixed_reports or []:
        await get_report(report_id, deps)

    def decide(release: Release) -> tuple[Release, list[Event[Any]]] | None:
        return rules.edited(release, change), []

    fields = change.model_dump(exclude_unset=True)
    repair = Repair(fields, rules.editable_fixes) if "fixed_reports" in fields else Repair(fields)
    release: Release = await change_record(RELEASES, version, "release", decide, deps, repair)
    return release


async def publish_release(version: str, by: Principal, deps: ProblemsDeps) -> Release:
    release = await get_release(version, deps)
    reports = [await get_report(r, deps) for r in release.fixed_reports]
    incidents: dict[str, list[str]] = {}
    for report in reports:
        if report.problem_id and report.problem_id not in incidents:
            problem: Problem = await get_record(PROBLEMS, report.problem_id, "problem", deps)
            incidents[problem.id] = problem.ticket_ids
    tickets, organizations = rules.affected(reports, incidents)
    now = deps.clock.now()

    def decide(current: Release) -> tuple[Release, list[Event[Any]]] | None:
        after = rules.published(current, tickets, organizations, now)
        event = ReleasePublished.create(
            source="problems",
            subject=after.version,
            time=now,
            data=ReleaseData(
                release_id=after.version,
                version=after.version,
                fixed_reports=after.fixed_reports,
                ticket_ids=tickets,
                organization_ids=organizations,
                product=after.product,
                released_on=after.released_on,
                supported=after.supported,
            ),
        )
        return after, [event]

    published: Release = await change_record(RELEASES, version, "release", decide, deps)
    done = (ReportStatus.RELEASED, ReportStatus.REJECTED, ReportStatus.CLOSED)
    for report in reports:
        if report.status in done:
            continue
        if report.status is not ReportStatus.FIXED:
            fixed = ReportUpdate(status=ReportStatus.FIXED, fixed_in=version)
            report = await update(report.id, fixed, who(by), deps, to_tracker=False)
        out = ReportUpdate(status=ReportStatus.RELEASED, fixed_in=version)
        await update(report.id, out, who(by), deps, to_tracker=False)
    return published
