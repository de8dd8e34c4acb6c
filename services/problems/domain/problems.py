"""Problem records (seed 001: a problem is the root cause of one or more incidents; seed 003:
repeated incidents are analysed so they do not recur).

open -> root_cause_known -> known_error -> resolved -> closed. A step may be skipped forward
when what it needs is there: a root cause for root_cause_known, a root cause and a workaround
for known_error, a fix (or the change that brought it) for resolved, the lessons learned for
closed. A resolved problem that comes back is opened again; a closed one stays closed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Conflict, FieldInvalid, InvalidTransition
from shared.records import patched
from shared.strict import Trimmed


class ProblemStatus(StrEnum):
    OPEN = "open"
    ROOT_CAUSE_KNOWN = "root_cause_known"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"
    CLOSED = "closed"


S = ProblemStatus
ORDER = [S.OPEN, S.ROOT_CAUSE_KNOWN, S.KNOWN_ERROR, S.RESOLVED, S.CLOSED]
ALLOWED: dict[ProblemStatus, frozenset[ProblemStatus]] = {
    S.OPEN: frozenset({S.ROOT_CAUSE_KNOWN, S.KNOWN_ERROR, S.RESOLVED}),
    S.ROOT_CAUSE_KNOWN: frozenset({S.KNOWN_ERROR, S.RESOLVED}),
    S.KNOWN_ERROR: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN}),
    S.CLOSED: frozenset(),
}


class Entry(BaseModel):
    """One line of the problem's history."""

    at: datetime
    by: str
    what: str


class Problem(BaseModel):
    id: str
    title: str
    description: str = ""
    status: ProblemStatus = ProblemStatus.OPEN
    owner: str | None = None
    root_cause: str | None = None
    workaround: str | None = None
    fix: str | None = None
    ticket_ids: list[str] = Field(default_factory=list)
    candidate_id: str | None = None
    products: list[str] = Field(default_factory=list)
    known_error_ids: list[str] = Field(default_factory=list)
    report_ids: list[str] = Field(default_factory=list)
    change_ids: list[str] = Field(default_factory=list)
    lessons_learned: str | None = None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    history: list[Entry] = Field(default_factory=list)
    revision: int = 0


class ProblemRequest(Trimmed):
    """Open a problem, by hand or from a detected candidate."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    owner: str | None = Field(default=None, max_length=200)
    ticket_ids: list[str] = Field(default_factory=list, max_length=500)
    candidate_id: str | None = Field(default=None, max_length=200)
    products: list[str] = Field(default_factory=list, max_length=20)


class ProblemEdit(Trimmed):
    """Change what is known about a problem; `status` moves it along its life cycle."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    owner: str | None = Field(default=None, max_length=200)
    root_cause: str | None = Field(default=None, max_length=20_000)
    workaround: str | None = Field(default=None, max_length=20_000)
    fix: str | None = Field(default=None, max_length=20_000)
    lessons_learned: str | None = Field(default=None, max_length=20_000)
    status: ProblemStatus | None = None


def open_problem(problem_id: str, request: ProblemRequest, by: str, now: datetime) -> Problem:
    return Problem(
        id=problem_id,
        title=request.title,
        description=request.description,
        owner=request.owner,
        ticket_ids=list(dict.fromkeys(request.ticket_ids)),
        candidate_id=request.candidate_id,
        products=request.products,
        created_at=now,
        updated_at=now,
        history=[Entry(at=now, by=by, what="opened")],
    )


NEEDED = frozenset({"root_cause", "workaround", "fix"})  # what a status may need


def edit(problem: Problem, change: ProblemEdit, by: str, now: datetime) -> Problem:
    """The problem with the fields given, validated whole, then moved to the status given (if
    any). A null clears an optional field (owner, root cause, ...) as long as the status
    reached does not need it; on title, description or status it is refused."""
    if "status" in change.model_fields_set and change.status is None:
        raise FieldInvalid("status", "a problem always has a status: leave it out to keep it")
    fields = change.model_dump(exclude_unset=True, exclude={"status"})
    if problem.status is S.CLOSED and fields:
        raise Conflict(f"problem {problem.id} is closed")
    edited = patched(problem, {**fields, "updated_at": now})
    if fields:
        edited = _noted(edited, by, now, "edited " + ", ".join(sorted(fields)))
    if change.status is not None and change.status is not problem.status:
        return move(edited, change.status, by, now)
    if fields.keys() & NEEDED:
        consistent(edited)
    return edited


def move(problem: Problem, target: ProblemStatus, by: str, now: datetime) -> Problem:
    if target not in ALLOWED[problem.status]:
        allowed = [s.value for s in ALLOWED[problem.status]]
        raise InvalidTransition(problem.status.value, target.value, allowed)
    _needs(problem, target)
    update: dict[str, object] = {"status": target, "updated_at": now}
    if target is S.RESOLVED:
        update["resolved_at"] = now
    if target is S.CLOSED:
        update["closed_at"] = now
    if target is S.OPEN:
        update["resolved_at"] = None
    moved = problem.model_copy(update=update)
    return _noted(moved, by, now, f"{problem.status.value} -> {target.value}")


def consistent(problem: Problem) -> None:
    """FieldInvalid unless the problem has what its status needs."""
    _needs(problem, problem.status)


def _needs(problem: Problem, target: ProblemStatus) -> None:
    if target in (S.ROOT_CAUSE_KNOWN, S.KNOWN_ERROR) and not problem.root_cause:
        raise FieldInvalid("root_cause", f"{target.value} needs the root cause")
    if target is S.KNOWN_ERROR and not problem.workaround:
        raise FieldInvalid("workaround", "a known error needs a workaround")
    if target is S.RESOLVED and not (problem.fix or problem.change_ids):
        raise FieldInvalid("fix", "a resolved problem needs its fix or a completed change")
    if target is S.CLOSED and not problem.lessons_learned:
        raise FieldInvalid("lessons_learned", "record the lessons learned before closing")


def link(problem: Problem, ticket_id: str, by: str, now: datetime) -> Problem | None:
    """The incident linked; None when it is linked already."""
    if problem.status is S.CLOSED:
        raise Conflict(f"problem {problem.id} is closed")
    if ticket_id in problem.ticket_ids:
        return None
    linked = problem.model_copy(
        update={"ticket_ids": [*problem.ticket_ids, ticket_id], "updated_at": now}
    )
    return _noted(linked, by, now, f"linked {ticket_id}")


def unlink(problem: Problem, ticket_id: str, by: str, now: datetime) -> Problem | None:
    """The incident unlinked; None when it was not linked."""
    if ticket_id not in problem.ticket_ids:
        return None
    kept = [t for t in problem.ticket_ids if t != ticket_id]
    unlinked = problem.model_copy(update={"ticket_ids": kept, "updated_at": now})
    return _noted(unlinked, by, now, f"unlinked {ticket_id}")


def refer(problem: Problem, field: str, ref: str, now: datetime) -> Problem | None:
    """A known error, deficiency report or change recorded on the problem (once)."""
    refs: list[str] = getattr(problem, field)
    if ref in refs:
        return None
    return problem.model_copy(update={field: [*refs, ref], "updated_at": now})


def resolved_by_change(problem: Problem, change_id: str, by: str, now: datetime) -> Problem | None:
    """A completed change linked to the problem resolves it (unless it is resolved already)."""
    referred = refer(problem, "change_ids", change_id, now) or problem
    if referred.status in (S.RESOLVED, S.CLOSED):
        return None if referred is problem else referred
    if not referred.fix:
        referred = referred.model_copy(update={"fix": f"change {change_id} completed"})
    return move(referred, S.RESOLVED, by, now)


def _noted(problem: Problem, by: str, now: datetime, what: str) -> Problem:
    return problem.model_copy(
        update={"history": [*problem.history, Entry(at=now, by=by, what=what)]}
    )
