"""Deficiency reports (seed 000 step 3, seed 002 step 8): a ticket or a problem elevated to the
developers, with severity, affected release and reproduction, linked to their bug tracker.

open -> submitted (the tracker took it) -> in_work -> fixed -> released; rejected or closed
from any state before released. The tracker's status updates arrive by API or signed webhook.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import FieldInvalid, InvalidTransition
from shared.records import patched
from shared.strict import Trimmed

from .problems import Entry


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ReportStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    IN_WORK = "in_work"
    FIXED = "fixed"
    RELEASED = "released"
    REJECTED = "rejected"
    CLOSED = "closed"


R = ReportStatus
ALLOWED: dict[ReportStatus, frozenset[ReportStatus]] = {
    R.OPEN: frozenset({R.SUBMITTED, R.IN_WORK, R.FIXED, R.REJECTED, R.CLOSED}),
    R.SUBMITTED: frozenset({R.IN_WORK, R.FIXED, R.REJECTED, R.CLOSED}),
    R.IN_WORK: frozenset({R.FIXED, R.REJECTED, R.CLOSED}),
    R.FIXED: frozenset({R.RELEASED, R.IN_WORK, R.CLOSED}),
    R.RELEASED: frozenset({R.CLOSED}),
    R.REJECTED: frozenset({R.OPEN, R.CLOSED}),
    R.CLOSED: frozenset(),
}


class DeficiencyReport(BaseModel):
    id: str
    title: str
    severity: Severity
    status: ReportStatus = ReportStatus.OPEN
    affected_release: str
    reproduction: str
    ticket_ids: list[str] = Field(default_factory=list)
    problem_id: str | None = None
    organization_ids: list[str] = Field(default_factory=list)
    tracker_id: str | None = None
    tracker_url: str | None = None
    fixed_in: str | None = Field(default=None, description="The release with the fix")
    created_at: datetime
    updated_at: datetime
    history: list[Entry] = Field(default_factory=list)
    revision: int = 0


class ReportRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    severity: Severity
    affected_release: str = Field(min_length=1, max_length=100)
    reproduction: str = Field(min_length=1, max_length=50_000, description="Steps to reproduce")
    ticket_ids: list[str] = Field(default_factory=list, max_length=500)
    problem_id: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _from_something(self) -> ReportRequest:
        if not self.ticket_ids and not self.problem_id:
            raise ValueError("a deficiency report comes from a ticket or a problem")
        return self


class ReportUpdate(Trimmed):
    """What the tracker (or an agent) says about the report."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: ReportStatus | None = None
    tracker_id: str | None = Field(default=None, max_length=200)
    tracker_url: str | None = Field(default=None, max_length=2_000, pattern=r"^https?://")
    fixed_in: str | None = Field(default=None, max_length=100)
    note: str = Field(default="", max_length=5_000)


def elevate(
    report_id: str,
    request: ReportRequest,
    organization_ids: list[str],
    by: str,
    now: datetime,
) -> DeficiencyReport:
    return DeficiencyReport(
        id=report_id,
        **request.model_dump(),
        organization_ids=organization_ids,
        created_at=now,
        updated_at=now,
        history=[Entry(at=now, by=by, what="elevated")],
    )


def updated(
    report: DeficiencyReport, update: ReportUpdate, by: str, now: datetime
) -> DeficiencyReport | None:
    """The report after the update, validated whole; None when it changes nothing (a repeated
    webhook). A null clears the tracker's id or link or the fixed-in release; a null status
    is refused."""
    if "status" in update.model_fields_set and update.status is None:
        raise FieldInvalid("status", "a report always has a status: leave it out to keep it")
    fields = update.model_dump(exclude_unset=True, exclude={"status", "note"})
    fields = {k: v for k, v in fields.items() if getattr(report, k) != v}
    target = update.status
    if target is not None and target is not report.status:
        if target not in ALLOWED[report.status]:
            allowed = [s.value for s in ALLOWED[report.status]]
            raise InvalidTransition(report.status.value, target.value, allowed)
        fields["status"] = target
    if not fields:
        return None
    what = ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in sorted(fields.items()))
    note = f"{what} ({update.note})" if update.note else what
    history = [*report.history, Entry(at=now, by=by, what=note)]
    return patched(report, {**fields, "updated_at": now, "history": history})
