"""Deficiency reports: a ticket or problem elevated to the developers and posted to their bug
tracker by a signed webhook (retried until it lands); the tracker's status updates come back by
API or by a signed webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from shared.auth import Principal
from shared.errors import FieldInvalid, NotFound
from shared.events import Event
from shared.events.problems import (
    DeficiencyReportData,
    DeficiencyReportOpened,
    DeficiencyReportUpdated,
)
from shared.paging import Position, Slice
from shared.records import invalid
from shared.strict import Trimmed

from ..domain import reports as rules
from ..domain.problems import Problem
from ..domain.reports import DeficiencyReport, ReportRequest, ReportUpdate
from ..store import NEWEST_ID, PROBLEMS, REPORTS
from ..webhooks import Delivery, verify
from . import ProblemsDeps, Repair, get_record, insert_record, rewrite_record, who
from .problems import refer_to


def data(report: DeficiencyReport) -> DeficiencyReportData:
    return DeficiencyReportData(
        report_id=report.id,
        title=report.title,
        severity=report.severity.value,
        status=report.status.value,
        ticket_ids=report.ticket_ids,
        tracker_id=report.tracker_id,
        tracker_url=report.tracker_url,
        problem_id=report.problem_id,
        affected_release=report.affected_release,
        reproduction=report.reproduction,
        fixed_in=report.fixed_in,
        organization_ids=report.organization_ids,
    )


async def get_report(report_id: str, deps: ProblemsDeps) -> DeficiencyReport:
    report: DeficiencyReport = await get_record(REPORTS, report_id, "deficiency report", deps)
    return report


async def list_reports(
    deps: ProblemsDeps, limit: int, after: Position | None
) -> Slice[DeficiencyReport]:
    return await deps.store.page(REPORTS, DeficiencyReport, NEWEST_ID, limit, after)


async def elevate(request: ReportRequest, by: Principal, deps: ProblemsDeps) -> DeficiencyReport:
    """Open the report from its tickets (and its problem's incidents' customers)."""
    tickets = list(request.ticket_ids)
    if request.problem_id is not None:
        problem: Problem = await get_record(PROBLEMS, request.problem_id, "problem", deps)
        tickets += [t for t in problem.ticket_ids if t not in tickets]
    organizations: dict[str, None] = {}
    for ticket_id in tickets:
        incident = await deps.incidents.get_incident(ticket_id)
        if incident is None and ticket_id in request.ticket_ids:
            raise FieldInvalid("ticket_ids", f"no ticket {ticket_id} is known here")
        if incident is not None and incident.organization_id:
            organizations.setdefault(incident.organization_id, None)
    now = deps.clock.now()
    report = rules.elevate(
        await deps.store.next_id("DR"), request, list(organizations), who(by), now
    )
    opened = DeficiencyReportOpened.create(
        source="problems", subject=report.id, time=now, data=data(report)
    )
    await insert_record(REPORTS, report.id, report, [opened], deps)
    if report.problem_id is not None:
        await refer_to(report.problem_id, "report_ids", report.id, deps)
    await _post(report, opened, deps)
    return report


async def update(
    report_id: str,
    change: ReportUpdate,
    by: str,
    deps: ProblemsDeps,
    to_tracker: bool,
    repair: bool = False,
) -> DeficiencyReport:
    """Apply an update; one that came from an agent is posted to the tracker too. With
    `repair` (a PATCH), a report stored in a form that does not load is repaired with it."""
    now = deps.clock.now()

    def decide(report: DeficiencyReport) -> tuple[DeficiencyReport, list[Event[Any]]] | None:
        after = rules.updated(report, change, by, now)
        if after is None:
            return None
        event = DeficiencyReportUpdated.create(
            source="problems", subject=after.id, time=now, data=data(after)
        )
        return after, [event]

    fields = change.model_dump(exclude_unset=True, exclude={"note"})
    mend = Repair({**fields, "updated_at": now}) if repair else None
    changed = await rewrite_record(REPORTS, report_id, "deficiency report", decide, deps, mend)
    report: DeficiencyReport = changed.after
    if to_tracker and changed.events:
        await _post(report, changed.events[0], deps)
    return report


async def _post(report: DeficiencyReport, event: Event[Any], deps: ProblemsDeps) -> None:
    """Queue the webhook to the tracker (kept and retried by the sender loop)."""
    if not deps.tracker.url:
        return
    payload: dict[str, Any] = {"event": event.type, "report": data(report).model_dump(mode="json")}
    delivery = Delivery.new(
        f"{report.id}:{event.id}", deps.tracker.url, event.type, payload, deps.clock.now()
    )
    await deps.deliveries.enqueue(delivery)


class TrackerUpdate(Trimmed):
    """What the tracker posts back: the report by our id or by its own, and what changed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    report_id: str | None = Field(default=None, min_length=1, max_length=100)
    tracker_id: str | None = Field(default=None, min_length=1, max_length=200)
    update: ReportUpdate

    @model_validator(mode="after")
    def _names_a_report(self) -> TrackerUpdate:
        if self.report_id is None and self.tracker_id is None:
            raise ValueError("name the report by report_id or tracker_id")
        return self


async def from_tracker(
    body: bytes, signature: str | None, now: datetime, deps: ProblemsDeps
) -> DeficiencyReport:
    """A signed status update from the tracker: NotConfigured when no secret is set (every
    update is refused), BadSignature when it is not signed right, 422 naming what is wrong
    with a body that is signed but not an update."""
    verify(deps.tracker.secret, signature, body, now)
    try:
        message = TrackerUpdate.model_validate_json(body)
    except ValidationError as exc:
        raise invalid(exc) from None
    report_id = message.report_id
    if report_id is None and message.tracker_id is not None:
        report_id = await deps.store.find_id(REPORTS, "tracker_id", message.tracker_id)
    if report_id is None:
        raise NotFound(f"no deficiency report has the tracker id {message.tracker_id!r}")
    update_ = message.update
    if message.tracker_id and not update_.tracker_id:
        fields = {**update_.model_dump(exclude_unset=True), "tracker_id": message.tracker_id}
        update_ = ReportUpdate.model_validate(fields)
    return await update(report_id, update_, "tracker", deps, to_tracker=False)
