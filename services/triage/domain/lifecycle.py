"""The ticket life cycle of ARCHITECTURE.md, and what agents send to move it."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from shared.errors import InvalidTransition
from shared.events.common import Level, RequestKind, TicketStatus, TicketType
from shared.strict import IsoDate, Trimmed

S = TicketStatus
ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.OPEN, S.ASSIGNED, S.RESOLVED}),
    S.OPEN: frozenset({S.ASSIGNED, S.RESOLVED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.OPEN, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.PENDING_CUSTOMER, S.RESOLVED, S.ASSIGNED, S.OPEN}),
    S.PENDING_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.OPEN}),
}
ACTIVE = frozenset({S.NEW, S.OPEN, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED})
"""Being worked or waiting for an agent: what escalation and the worklists are about."""
DONE = frozenset({S.RESOLVED, S.CLOSED})


def transition(current: TicketStatus, target: TicketStatus) -> TicketStatus:
    if target not in ALLOWED[current]:
        raise InvalidTransition(current.value, target.value, [s.value for s in ALLOWED[current]])
    return target


class StatusRequest(Trimmed):
    """Move a work item along its life cycle (resolve and close have their own actions)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    status: TicketStatus
    reason: str = Field(default="", max_length=2_000)


RESOLUTION_CODES = ("solved", "workaround", "fix_pending", "fix_released", "no_fault", "duplicate")


class ResolveRequest(Trimmed):
    """The resolution record (seed 001): what it was, what solved it, what did not."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    resolution: str = Field(min_length=1, max_length=20_000, description="What solved it")
    resolution_code: str = Field(default="solved", pattern="^(" + "|".join(RESOLUTION_CODES) + ")$")
    cause: str | None = Field(default=None, max_length=20_000, description="Root cause found")
    workaround: str | None = Field(default=None, max_length=20_000)
    failed_attempts: list[str] = Field(
        default_factory=list, max_length=50, description="Solutions tried that did not help"
    )
    fix_release: str | None = Field(
        default=None, max_length=100, description="Release with the fix"
    )
    fix_expected_on: IsoDate | None = Field(default=None, description="When a pending fix is due")
    problem_id: str | None = Field(default=None, max_length=100)
    deficiency_report_id: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _pending_fix_named(self) -> ResolveRequest:
        if self.resolution_code == "fix_pending" and not (self.fix_release or self.fix_expected_on):
            raise ValueError("a pending fix needs fix_release or fix_expected_on")
        if self.resolution_code == "workaround" and not self.workaround:
            raise ValueError("resolution_code workaround needs the workaround described")
        return self


class CloseRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(default="confirmed by the customer", min_length=1, max_length=2_000)


class ClassifyRequest(Trimmed):
    """An agent's correction of triage's reading; the priority follows, the correction is kept."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: TicketType | None = None
    request_kind: RequestKind | None = None
    impact: Level | None = None
    urgency: Level | None = None
    queue: str | None = Field(default=None, max_length=63)
    reason: str = Field(min_length=1, max_length=2_000)

    @model_validator(mode="after")
    def _something(self) -> ClassifyRequest:
        if not any((self.type, self.request_kind, self.impact, self.urgency, self.queue)):
            raise ValueError("correct at least one of type, request_kind, impact, urgency, queue")
        return self
