"""Change requests (seed 001: anything that alters the configuration is a change, and changes
need approval before implementation; maintenance is announced well in advance with its
downtime estimated and its benefits told; seed 003: change management).

requested -> approved (every approver said yes) or rejected (any said no) -> completed or
rolled_back. A completed change linked to a problem resolves it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import Conflict, Forbidden, InvalidTransition
from shared.strict import IsoDatetime, StrictBool, StrictInt, Trimmed

from .problems import Entry


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChangeStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    estimated_downtime_minutes: StrictInt = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.ends_at <= self.starts_at:
            raise ValueError("the window must end after it starts")
        return self


class Decision(BaseModel):
    approver: str
    approved: bool
    comment: str = ""
    at: datetime


class Change(BaseModel):
    id: str
    title: str
    description: str = ""
    risk: Risk
    status: ChangeStatus = ChangeStatus.REQUESTED
    approvers: list[str]
    decisions: list[Decision] = Field(default_factory=list)
    window: Window | None = None
    benefits: str = ""
    problem_id: str | None = None
    organization_ids: list[str] = Field(default_factory=list, description="Customers affected")
    products: list[str] = Field(default_factory=list)
    outcome: str = ""
    requested_by: str
    created_at: datetime
    updated_at: datetime
    history: list[Entry] = Field(default_factory=list)
    revision: int = 0


class ChangeRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    risk: Risk
    approvers: list[str] = Field(min_length=1, max_length=20)
    window: Window | None = None
    benefits: str = Field(default="", max_length=20_000)
    problem_id: str | None = Field(default=None, max_length=100)
    organization_ids: list[str] = Field(default_factory=list, max_length=500)
    products: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _high_risk_has_a_window(self) -> ChangeRequest:
        if self.risk is Risk.HIGH and self.window is None:
            raise ValueError("a high-risk change needs a maintenance window")
        return self


class DecisionRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    approved: StrictBool
    comment: str = Field(default="", max_length=5_000)


class OutcomeRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rolled_back: StrictBool = False
    outcome: str = Field(min_length=1, max_length=20_000, description="What was done and how")


def request(change_id: str, body: ChangeRequest, by: str, now: datetime) -> Change:
    return Change(
        id=change_id,
        **body.model_dump(),
        requested_by=by,
        created_at=now,
        updated_at=now,
        history=[Entry(at=now, by=by, what="requested")],
    )


def decide(change: Change, approver: str, body: DecisionRequest, now: datetime) -> Change:
    """An approver's decision: any no rejects; the last yes approves."""
    if change.status is not ChangeStatus.REQUESTED:
        raise Conflict(f"change {change.id} is {change.status.value}: decided already")
    if approver not in change.approvers:
        raise Forbidden(f"{approver} is not an approver of change {change.id}")
    if any(d.approver == approver for d in change.decisions):
        raise Conflict(f"{approver} has decided on change {change.id} already")
    decision = Decision(approver=approver, approved=body.approved, comment=body.comment, at=now)
    decisions = [*change.decisions, decision]
    status: ChangeStatus = change.status
    if not body.approved:
        status = ChangeStatus.REJECTED
    elif {d.approver for d in decisions if d.approved} >= set(change.approvers):
        status = ChangeStatus.APPROVED
    what = f"{'approved' if body.approved else 'rejected'} by {approver}"
    history = [*change.history, Entry(at=now, by=approver, what=what)]
    return change.model_copy(
        update={"decisions": decisions, "status": status, "updated_at": now, "history": history}
    )


def finish(change: Change, body: OutcomeRequest, by: str, now: datetime) -> Change:
    target = ChangeStatus.ROLLED_BACK if body.rolled_back else ChangeStatus.COMPLETED
    if change.status is not ChangeStatus.APPROVED:
        raise InvalidTransition(change.status.value, target.value, [])
    history = [*change.history, Entry(at=now, by=by, what=target.value)]
    return change.model_copy(
        update={"status": target, "outcome": body.outcome, "updated_at": now, "history": history}
    )
