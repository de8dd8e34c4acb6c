"""Releases, changes and advisory notices.

Publishing a release names the tickets that waited for its fixes and their customers
(release.published: intake tells them, triage records the fix on the tickets) and marks its
deficiency reports released. A change is requested, approved by every approver or rejected by
one, then completed or rolled back; approving one with a maintenance window schedules the
maintenance notice, and completing one linked to a problem resolves the problem. Notices are
published at their time by whichever replica gets there first (the revision claim makes it
once).
"""

from __future__ import annotations

import logging
from typing import Any

from shared.auth import Principal
from shared.errors import FieldInvalid
from shared.events import Event
from shared.events.problems import (
    AdvisoryData,
    AdvisoryPublished,
    ChangeApproved,
    ChangeCompleted,
    ChangeData,
    ChangeRejected,
    ChangeRequested,
    ReleaseData,
    ReleasePublished,
)
from shared.periodic import every

from ..domain import changes as change_rules
from ..domain import notices as rules
from ..domain.changes import (
    Change,
    ChangeRequest,
    ChangeStatus,
    DecisionRequest,
    OutcomeRequest,
)
from ..domain.notices import (
    Advisory,
    AdvisoryRequest,
    Audience,
    NoticeKind,
    Release,
    ReleaseEdit,
    ReleaseRequest,
)
from ..domain.problems import Problem
from ..domain.reports import ReportStatus, ReportUpdate
from ..store import ADVISORIES, CHANGES, PROBLEMS, RELEASES
from . import ProblemsDeps, change_record, get_record, insert_record, who
from .problems import refer_to, resolve_by_change
from .reports import get_report, update

log = logging.getLogger(__name__)


# Releases


async def add_release(request: ReleaseRequest, deps: ProblemsDeps) -> Release:
    for report_id in request.fixed_reports:
        await get_report(report_id, deps)
    release = Release(**request.model_dump())
    existing = await deps.store.records[RELEASES].get(release.version)
    if existing is not None:
        raise FieldInvalid("version", f"release {release.version} exists already")
    return await insert_record(RELEASES, release.version, release, [], deps)


async def get_release(version: str, deps: ProblemsDeps) -> Release:
    release: Release = await get_record(RELEASES, version, "release", deps)
    return release


async def list_releases(deps: ProblemsDeps, supported: bool | None) -> list[Release]:
    releases = [Release.model_validate(d) for d in await deps.store.all(RELEASES)]
    chosen = [r for r in releases if supported is None or r.supported is supported]
    return sorted(chosen, key=lambda r: (r.released_on, r.version), reverse=True)


async def edit_release(version: str, change: ReleaseEdit, deps: ProblemsDeps) -> Release:
    for report_id in change.fixed_reports or []:
        await get_report(report_id, deps)

    def decide(release: Release) -> tuple[Release, list[Event[Any]]] | None:
        fields = change.model_dump(exclude_unset=True)
        if "fixed_reports" in fields and release.published_at is not None:
            raise FieldInvalid("fixed_reports", "the release is published: its fixes are told")
        return release.model_copy(update=fields), []

    release: Release = await change_record(RELEASES, version, "release", decide, deps)
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


# Changes


def change_data(change: Change) -> ChangeData:
    window = change.window
    return ChangeData(
        change_id=change.id,
        title=change.title,
        status=change.status.value,
        risk=change.risk.value,
        problem_id=change.problem_id,
        approvers=change.approvers,
        starts_at=window.starts_at if window else None,
        ends_at=window.ends_at if window else None,
        estimated_downtime_minutes=window.estimated_downtime_minutes if window else None,
        benefits=change.benefits,
        outcome=change.outcome,
    )


async def request_change(body: ChangeRequest, by: Principal, deps: ProblemsDeps) -> Change:
    if body.problem_id is not None:
        await get_record(PROBLEMS, body.problem_id, "problem", deps)
    now = deps.clock.now()
    change = change_rules.request(await deps.store.next_id("CHG"), body, who(by), now)
    requested = ChangeRequested.create(
        source="problems", subject=change.id, time=now, data=change_data(change)
    )
    await insert_record(CHANGES, change.id, change, [requested], deps)
    if change.problem_id is not None:
        await refer_to(change.problem_id, "change_ids", change.id, deps)
    return change


async def get_change(change_id: str, deps: ProblemsDeps) -> Change:
    change: Change = await get_record(CHANGES, change_id, "change", deps)
    return change


async def list_changes(deps: ProblemsDeps, status: ChangeStatus | None) -> list[Change]:
    changes = [Change.model_validate(d) for d in await deps.store.all(CHANGES)]
    chosen = [c for c in changes if status is None or c.status is status]
    return sorted(chosen, key=lambda c: c.id, reverse=True)


async def decide_change(
    change_id: str, body: DecisionRequest, by: Principal, deps: ProblemsDeps
) -> Change:
    now = deps.clock.now()

    def decide(change: Change) -> tuple[Change, list[Event[Any]]] | None:
        after = change_rules.decide(change, who(by), body, now)
        kind = {ChangeStatus.APPROVED: ChangeApproved, ChangeStatus.REJECTED: ChangeRejected}
        events: list[Event[Any]] = []
        if after.status in kind:
            events.append(
                kind[after.status].create(
                    source="problems", subject=after.id, time=now, data=change_data(after)
                )
            )
        return after, events

    change: Change = await change_record(CHANGES, change_id, "change", decide, deps)
    if change.status is ChangeStatus.APPROVED and change.window is not None:
        await _announce_maintenance(change, deps)
    return change


async def _announce_maintenance(change: Change, deps: ProblemsDeps) -> None:
    """Seed 001: maintenance is announced well in advance, with its downtime and benefits."""
    assert change.window is not None
    window = change.window
    audience = Audience(
        everyone=not (change.organization_ids or change.products),
        organization_ids=change.organization_ids,
        products=change.products,
    )
    body = "\n".join(
        line
        for line in (
            change.description,
            f"Expected downtime: {window.estimated_downtime_minutes} minutes.",
            f"Why: {change.benefits}" if change.benefits else "",
        )
        if line
    )
    request = AdvisoryRequest(
        title=f"Planned maintenance: {change.title}",
        body=body,
        kind=NoticeKind.MAINTENANCE,
        audience=audience,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
    )
    advisory_id = f"ADV-{change.id}"  # one notice per change, whoever approves last
    if await deps.store.records[ADVISORIES].get(advisory_id) is None:
        advisory = rules.scheduled(
            advisory_id, request, change.requested_by, deps.clock.now(), change.id
        )
        await insert_record(ADVISORIES, advisory.id, advisory, [], deps)
        await publish_due(deps)


async def finish_change(
    change_id: str, body: OutcomeRequest, by: Principal, deps: ProblemsDeps
) -> Change:
    now = deps.clock.now()

    def decide(change: Change) -> tuple[Change, list[Event[Any]]] | None:
        after = change_rules.finish(change, body, who(by), now)
        event = ChangeCompleted.create(
            source="problems", subject=after.id, time=now, data=change_data(after)
        )
        return after, [event]

    change: Change = await change_record(CHANGES, change_id, "change", decide, deps)
    if change.status is ChangeStatus.COMPLETED and change.problem_id is not None:
        await resolve_by_change(change.problem_id, change.id, who(by), deps)
    return change


# Advisory notices


def advisory_data(advisory: Advisory) -> AdvisoryData:
    audience = advisory.audience
    return AdvisoryData(
        advisory_id=advisory.id,
        title=advisory.title,
        kind=advisory.kind.value,
        organization_ids=audience.organization_ids,
        everyone=audience.everyone,
        sites=audience.sites,
        products=audience.products,
        body=advisory.body,
        starts_at=advisory.starts_at,
        ends_at=advisory.ends_at,
    )


async def schedule_advisory(
    request: AdvisoryRequest, by: Principal, deps: ProblemsDeps
) -> Advisory:
    advisory = rules.scheduled(await deps.store.next_id("ADV"), request, who(by), deps.clock.now())
    await insert_record(ADVISORIES, advisory.id, advisory, [], deps)
    await publish_due(deps)
    return await get_advisory(advisory.id, deps)


async def get_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    advisory: Advisory = await get_record(ADVISORIES, advisory_id, "advisory", deps)
    return advisory


async def list_advisories(deps: ProblemsDeps) -> list[Advisory]:
    advisories = [Advisory.model_validate(d) for d in await deps.store.all(ADVISORIES)]
    return sorted(advisories, key=lambda a: (a.publish_at, a.id), reverse=True)


async def withdraw_advisory(advisory_id: str, deps: ProblemsDeps) -> Advisory:
    def decide(advisory: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
        return rules.withdrawn(advisory), []

    advisory: Advisory = await change_record(ADVISORIES, advisory_id, "advisory", decide, deps)
    return advisory


async def publish_due(deps: ProblemsDeps) -> int:
    """Publish the notices whose time has come; returns how many this call published."""
    now = deps.clock.now()
    published = 0
    for advisory in await list_advisories(deps):
        if not rules.due(advisory, now):
            continue

        def decide(current: Advisory) -> tuple[Advisory, list[Event[Any]]] | None:
            if not rules.due(current, now):
                return None
            after = current.model_copy(update={"status": "published", "published_at": now})
            event = AdvisoryPublished.create(
                source="problems", subject=after.id, time=now, data=advisory_data(after)
            )
            return after, [event]

        after: Advisory = await change_record(ADVISORIES, advisory.id, "advisory", decide, deps)
        if after.status == "published" and after.published_at == now:
            published += 1
    return published


async def run_notices(deps: ProblemsDeps, interval: float) -> None:
    await every(interval, lambda: publish_due(deps), "publishing due notices")
