"""Events problems publishes on helpdesk.problems.v1 (data models start small and grow)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .envelope import Event, EventData


class ProblemData(EventData):
    problem_id: str = Field(description="The problem's id (also the event subject)")
    title: str = Field(default="", description="Short statement of the problem")
    status: str = Field(default="open", description="open, root_cause_known, known_error, ...")
    ticket_ids: list[str] = Field(default_factory=list, description="Incidents concerned")
    root_cause: str | None = Field(default=None, description="Root cause, once known")
    workaround: str | None = Field(default=None, description="What helps until the fix")
    owner: str | None = Field(default=None, description="Who drives the problem")
    ticket_id: str | None = Field(
        default=None, description="The incident this event links or unlinks"
    )
    unlinked: bool = Field(default=False, description="The incident was unlinked, not linked")
    fix: str | None = Field(default=None, description="What resolved it")
    lessons_learned: str | None = Field(default=None, description="Recorded at closure")


class ProblemCreated(Event[ProblemData]):
    type: Literal["problem.created"] = "problem.created"


class ProblemIncidentLinked(Event[ProblemData]):
    type: Literal["problem.incident_linked"] = "problem.incident_linked"


class ProblemResolved(Event[ProblemData]):
    type: Literal["problem.resolved"] = "problem.resolved"


class ProblemClosed(Event[ProblemData]):
    """Closed with its lessons learned (an addition to the architecture's list)."""

    type: Literal["problem.closed"] = "problem.closed"


class CandidateData(EventData):
    candidate_id: str = Field(description="Id of the detected cluster")
    ticket_ids: list[str] = Field(description="The similar incidents")
    reason: str = Field(description="What they share")
    score: float | None = Field(default=None, description="Mean similarity of the incidents")


class ProblemCandidateDetected(Event[CandidateData]):
    type: Literal["problem.candidate_detected"] = "problem.candidate_detected"


class KnownErrorData(EventData):
    known_error_id: str = Field(description="The known error's id")
    title: str = Field(description="Title")
    symptoms: str = Field(default="", description="How it shows")
    workaround: str = Field(default="", description="What helps until the fix")
    problem_id: str | None = Field(default=None, description="The problem it came from")
    fix: str = Field(default="", description="The permanent fix, once known")
    products: list[str] = Field(default_factory=list, description="Products concerned")


class KnownErrorPublished(Event[KnownErrorData]):
    type: Literal["known_error.published"] = "known_error.published"


class Suggestion(BaseModel):
    kind: str = Field(description="known_error or resolved_ticket")
    ref: str = Field(description="Id of the suggested item")
    title: str = Field(description="What to show the agent")
    score: float = Field(description="Similarity, 0..1")
    detail: str = Field(default="", description="The workaround, or how the ticket was resolved")


class TicketSuggestionsData(EventData):
    ticket_id: str = Field(description="The new ticket")
    suggestions: list[Suggestion] = Field(default_factory=list, description="Best first")


class TicketSuggestions(Event[TicketSuggestionsData]):
    type: Literal["ticket.suggestions"] = "ticket.suggestions"


class DeficiencyReportData(EventData):
    report_id: str = Field(description="The DR's id")
    title: str = Field(description="Title")
    severity: str = Field(default="medium", description="critical, high, medium, low")
    status: str = Field(default="open", description="open, in_work, fixed, closed, ...")
    ticket_ids: list[str] = Field(default_factory=list, description="Tickets it came from")
    tracker_id: str | None = Field(default=None, description="Id in the developers' tracker")
    tracker_url: str | None = Field(default=None, description="The report in the tracker")
    problem_id: str | None = Field(default=None, description="The problem it came from")
    affected_release: str | None = Field(default=None, description="Release showing the fault")
    reproduction: str = Field(default="", description="Steps to reproduce")
    fixed_in: str | None = Field(default=None, description="Release with the fix")
    organization_ids: list[str] = Field(default_factory=list, description="Customers affected")


class DeficiencyReportOpened(Event[DeficiencyReportData]):
    type: Literal["deficiency_report.opened"] = "deficiency_report.opened"


class DeficiencyReportUpdated(Event[DeficiencyReportData]):
    type: Literal["deficiency_report.updated"] = "deficiency_report.updated"


class ReleaseData(EventData):
    release_id: str = Field(description="The release's id")
    version: str = Field(description="Version string")
    fixed_reports: list[str] = Field(default_factory=list, description="DRs fixed by it")
    ticket_ids: list[str] = Field(default_factory=list, description="Tickets waiting for it")
    organization_ids: list[str] = Field(default_factory=list, description="Customers affected")
    product: str = Field(default="", description="The product released")
    released_on: date | None = Field(default=None, description="Release date")
    supported: bool = Field(default=True, description="A version we support")


class ReleasePublished(Event[ReleaseData]):
    type: Literal["release.published"] = "release.published"


class ChangeData(EventData):
    change_id: str = Field(description="The change request's id")
    title: str = Field(description="Title")
    status: str = Field(description="requested, approved, rejected, completed, rolled_back")
    risk: str = Field(default="medium", description="low, medium, high")
    problem_id: str | None = Field(default=None, description="The problem it fixes")
    approvers: list[str] = Field(default_factory=list, description="Who must approve")
    starts_at: datetime | None = Field(default=None, description="Maintenance window start")
    ends_at: datetime | None = Field(default=None, description="Maintenance window end")
    estimated_downtime_minutes: int | None = Field(default=None, description="Downtime expected")
    benefits: str = Field(default="", description="Why it is worth it")
    outcome: str = Field(default="", description="What was done (completed or rolled back)")


class ChangeRequested(Event[ChangeData]):
    type: Literal["change.requested"] = "change.requested"


class ChangeApproved(Event[ChangeData]):
    type: Literal["change.approved"] = "change.approved"


class ChangeRejected(Event[ChangeData]):
    type: Literal["change.rejected"] = "change.rejected"


class ChangeCompleted(Event[ChangeData]):
    type: Literal["change.completed"] = "change.completed"


class AdvisoryData(EventData):
    advisory_id: str = Field(description="The notice's id")
    title: str = Field(description="Title")
    kind: str = Field(default="advisory", description="advisory, heads_up, maintenance")
    organization_ids: list[str] = Field(
        default_factory=list,
        description="Customers addressed; with no sites or products named either: every one",
    )
    everyone: bool = Field(default=False, description="Every customer is addressed")
    sites: list[str] = Field(default_factory=list, description="Sites addressed (their customers)")
    body: str = Field(default="", description="What the customers are told (plain text)")
    products: list[str] = Field(
        default_factory=list, description='Products (or "product version") concerned and addressed'
    )
    starts_at: datetime | None = Field(default=None, description="A maintenance window's start")
    ends_at: datetime | None = Field(default=None, description="A maintenance window's end")


class AdvisoryPublished(Event[AdvisoryData]):
    type: Literal["advisory.published"] = "advisory.published"


PROBLEMS_EVENTS: tuple[type[Event[Any]], ...] = (
    ProblemCreated,
    ProblemIncidentLinked,
    ProblemCandidateDetected,
    ProblemResolved,
    ProblemClosed,
    KnownErrorPublished,
    TicketSuggestions,
    DeficiencyReportOpened,
    DeficiencyReportUpdated,
    ReleasePublished,
    ChangeRequested,
    ChangeApproved,
    ChangeRejected,
    ChangeCompleted,
    AdvisoryPublished,
)
