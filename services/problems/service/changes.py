"""Change requests: requested, approved by every approver or rejected by one, then completed or
rolled back. Approving one with a maintenance window schedules the maintenance notice;
completing one linked to a problem resolves the problem."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.events import Event
from shared.events.problems import (
    ChangeApproved,
    ChangeCompleted,
    ChangeData,
    ChangeRejected,
    ChangeRequested,
)
from shared.paging import Position, Slice

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
    AdvisoryRequest,
    Audience,
    NoticeKind,
)
from ..store import ADVISORIES, CHANGES, NEWEST_ID, PROBLEMS
from . import ProblemsDeps, change_record, get_record, insert_record, who
from .advisories import publish_due, schedule
from .problems import refer_to, resolve_by_change


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


async def list_changes(
    deps: ProblemsDeps, status: ChangeStatus | None, limit: int, after: Position | None
) -> Slice[Change]:
    """Newest first, optionally those with one status."""
    where = {} if status is None else {"status": status.value}
    return await deps.store.page(CHANGES, Change, NEWEST_ID, limit, after, where)


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
        await schedule(advisory, deps, exists_ok=True)
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
