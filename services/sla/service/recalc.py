"""Recalculation from history: a changed policy or calendar applied retroactively by replaying
the events each affected clock was moved by, with a report of the outcomes that change."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, model_validator

from shared.strict import StrictBool

from ..domain import SlaClock
from ..domain.replay import replay
from . import Change, Setup, SlaDeps, change_clock, current_setup


class RecalculationRequest(BaseModel):
    policy_id: str | None = Field(default=None, description="Clocks on this policy")
    calendar_id: str | None = Field(default=None, description="Clocks on this calendar")
    ticket_ids: list[str] = Field(default_factory=list, max_length=10_000)
    apply: StrictBool = Field(default=False, description="Store the recalculated clocks too")

    @model_validator(mode="after")
    def _scoped(self) -> RecalculationRequest:
        if not (self.policy_id or self.calendar_id or self.ticket_ids):
            raise ValueError("name a policy_id, a calendar_id or ticket_ids")
        return self


class TargetChange(BaseModel):
    target: str
    before: str = Field(description="met, missed, breached (running) or running")
    after: str
    due_before: datetime | None
    due_after: datetime | None


class ClockChange(BaseModel):
    ticket_id: str
    number: str | None
    policy_before: str
    policy_after: str
    targets: list[TargetChange]


class RecalculationReport(BaseModel):
    clocks_checked: int
    clocks_changed: int
    applied: bool
    changes: list[ClockChange]


async def recalculate(request: RecalculationRequest, deps: SlaDeps) -> RecalculationReport:
    setup = await current_setup(deps)
    now = deps.clock.now()
    clocks = await deps.store.clocks_of(request.ticket_ids, request.policy_id, request.calendar_id)
    changes = []
    for clock in clocks:
        again = replay(await deps.inputs.inputs_of(clock.ticket_id), setup, now)
        if again is None:
            continue
        change = _compare(clock, again)
        if change is None:
            continue
        changes.append(change)
        if request.apply:
            await _store(clock.ticket_id, again, deps)
    return RecalculationReport(
        clocks_checked=len(clocks),
        clocks_changed=len(changes),
        applied=request.apply,
        changes=changes,
    )


def _state(clock: SlaClock, name: str) -> tuple[str, datetime | None]:
    t = clock.target(name)
    if t is None:
        return "absent", None
    if t.outcome:
        return t.outcome, t.due_at
    return ("breached" if t.breached else t.state), t.due_at


def _compare(before: SlaClock, after: SlaClock) -> ClockChange | None:
    targets = []
    for t in before.targets:
        was, due_was = _state(before, t.name)
        now, due_now = _state(after, t.name)
        if (was, due_was) != (now, due_now):
            targets.append(
                TargetChange(
                    target=t.name, before=was, after=now, due_before=due_was, due_after=due_now
                )
            )
    if not targets and before.policy_id == after.policy_id:
        return None
    return ClockChange(
        ticket_id=before.ticket_id,
        number=before.number,
        policy_before=before.policy_id,
        policy_after=after.policy_id,
        targets=targets,
    )


async def _store(ticket_id: str, again: SlaClock, deps: SlaDeps) -> None:
    """The recalculated state replaces the clock (nothing is announced again: the report is
    the announcement)."""

    def replaced(clock: SlaClock, _: Setup) -> Change:
        return again.model_copy(update={"revision": clock.revision}), []

    await change_clock(ticket_id, deps, replaced)
