"""Problem records: opened by hand or from a detected candidate, incidents linked and unlinked,
moved along open -> root cause known -> known error -> resolved -> closed. Becoming a known
error publishes a known error (with the workaround agents search); resolving and closing are
announced, closing with the lessons learned."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.events import Event
from shared.events.problems import (
    KnownErrorData,
    KnownErrorPublished,
    ProblemClosed,
    ProblemCreated,
    ProblemData,
    ProblemIncidentLinked,
    ProblemResolved,
)
from shared.paging import Position, Slice

from ..domain import problems as rules
from ..domain.knowledge import Knowledge, KnowledgeKind, KnowledgeRequest, create
from ..domain.problems import Problem, ProblemEdit, ProblemRequest, ProblemStatus
from ..store import KNOWLEDGE, LATEST_CLOSED, NEWEST_ID, PROBLEMS
from . import ProblemsDeps, Repair, change_record, get_record, insert_record, who


def data(problem: Problem, **extra: Any) -> ProblemData:
    return ProblemData(
        problem_id=problem.id,
        title=problem.title,
        status=problem.status.value,
        ticket_ids=problem.ticket_ids,
        root_cause=problem.root_cause,
        workaround=problem.workaround,
        owner=problem.owner,
        fix=problem.fix,
        lessons_learned=problem.lessons_learned,
        **extra,
    )


def _linked(problem: Problem, ticket_id: str, unlinked: bool, deps: ProblemsDeps) -> Event[Any]:
    return ProblemIncidentLinked.create(
        source="problems",
        subject=problem.id,
        time=deps.clock.now(),
        data=data(problem, ticket_id=ticket_id, unlinked=unlinked),
    )


async def get_problem(problem_id: str, deps: ProblemsDeps) -> Problem:
    problem: Problem = await get_record(PROBLEMS, problem_id, "problem", deps)
    return problem


async def list_problems(
    deps: ProblemsDeps, status: ProblemStatus | None, limit: int, after: Position | None
) -> Slice[Problem]:
    """Newest first, optionally those with one status."""
    where = {} if status is None else {"status": status.value}
    return await deps.store.page(PROBLEMS, Problem, NEWEST_ID, limit, after, where)


async def closed_problems(deps: ProblemsDeps, limit: int, after: Position | None) -> Slice[Problem]:
    """The closed problems, the last closed first."""
    where = {"status": ProblemStatus.CLOSED.value}
    return await deps.store.page(PROBLEMS, Problem, LATEST_CLOSED, limit, after, where)


async def open_problem(request: ProblemRequest, by: Principal, deps: ProblemsDeps) -> Problem:
    problem_id = await deps.store.next_id("PRB")
    now = deps.clock.now()
    problem = rules.open_problem(problem_id, request, who(by), now)
    events: list[Event[Any]] = [
        ProblemCreated.create(source="problems", subject=problem.id, time=now, data=data(problem))
    ]
    events += [_linked(problem, t, False, deps) for t in problem.ticket_ids]
    await insert_record(PROBLEMS, problem.id, problem, events, deps)
    return problem


async def edit_problem(
    problem_id: str, change: ProblemEdit, by: Principal, deps: ProblemsDeps
) -> Problem:
    now = deps.clock.now()

    def decide(problem: Problem) -> tuple[Problem, list[Event[Any]]] | None:
        after = rules.edit(problem, change, who(by), now)
        if after == problem.model_copy(update={"updated_at": now}):
            return None
        events: list[Event[Any]] = []
        if after.status is not problem.status:
            kind = {
                ProblemStatus.RESOLVED: ProblemResolved,
                ProblemStatus.CLOSED: ProblemClosed,
            }.get(after.status)
            if kind is not None:
                events.append(
                    kind.create(source="problems", subject=after.id, time=now, data=data(after))
                )
        return after, events

    repair = Repair({**change.model_dump(exclude_unset=True), "updated_at": now}, rules.consistent)
    after: Problem = await change_record(PROBLEMS, problem_id, "problem", decide, deps, repair)
    if after.status is ProblemStatus.KNOWN_ERROR and not after.known_error_ids:
        after = await _known_error_of(after, by, deps)
    return after


async def _known_error_of(problem: Problem, by: Principal, deps: ProblemsDeps) -> Problem:
    """A problem that became a known error gets its known-error record (once)."""
    item_id = await deps.store.next_id("KE")
    now = deps.clock.now()
    request = KnowledgeRequest(
        title=problem.title,
        symptoms=problem.description,
        workaround=problem.workaround or "",
        fix=problem.fix or "",
        problem_id=problem.id,
        products=problem.products,
    )

    def refer(current: Problem) -> tuple[Problem, list[Event[Any]]] | None:
        if current.known_error_ids:
            return None
        referred = rules.refer(current, "known_error_ids", item_id, now)
        return (referred, []) if referred else None

    after: Problem = await change_record(PROBLEMS, problem.id, "problem", refer, deps)
    if after.known_error_ids == [item_id]:
        await publish_knowledge(create(item_id, KnowledgeKind.KNOWN_ERROR, request, now), deps)
    return after


async def publish_knowledge(item: Knowledge, deps: ProblemsDeps) -> Knowledge:
    events: list[Event[Any]] = []
    if item.kind is KnowledgeKind.KNOWN_ERROR:
        events.append(
            KnownErrorPublished.create(
                source="problems",
                subject=item.id,
                time=item.created_at,
                data=KnownErrorData(
                    known_error_id=item.id,
                    title=item.title,
                    symptoms=item.symptoms,
                    workaround=item.workaround,
                    problem_id=item.problem_id,
                    fix=item.fix,
                    products=item.products,
                ),
            )
        )
    await insert_record(KNOWLEDGE, item.id, item, events, deps)
    deps.knowledge.forget()
    return item


async def link_incident(
    problem_id: str, ticket_id: str, by: Principal, deps: ProblemsDeps, unlink: bool = False
) -> Problem:
    """Link the incident to the problem (or unlink it); a repeat changes nothing."""
    now = deps.clock.now()
    change = rules.unlink if unlink else rules.link

    def decide(problem: Problem) -> tuple[Problem, list[Event[Any]]] | None:
        after = change(problem, ticket_id, who(by), now)
        return None if after is None else (after, [_linked(after, ticket_id, unlink, deps)])

    problem: Problem = await change_record(PROBLEMS, problem_id, "problem", decide, deps)
    return problem


async def refer_to(problem_id: str, field: str, ref: str, deps: ProblemsDeps) -> None:
    """Record a deficiency report or change on its problem."""
    now = deps.clock.now()

    def decide(problem: Problem) -> tuple[Problem, list[Event[Any]]] | None:
        after = rules.refer(problem, field, ref, now)
        return None if after is None else (after, [])

    await change_record(PROBLEMS, problem_id, "problem", decide, deps)


async def resolve_by_change(problem_id: str, change_id: str, by: str, deps: ProblemsDeps) -> None:
    now = deps.clock.now()

    def decide(problem: Problem) -> tuple[Problem, list[Event[Any]]] | None:
        after = rules.resolved_by_change(problem, change_id, by, now)
        if after is None:
            return None
        events: list[Event[Any]] = []
        if after.status is ProblemStatus.RESOLVED and problem.status is not after.status:
            events.append(
                ProblemResolved.create(
                    source="problems", subject=after.id, time=now, data=data(after)
                )
            )
        return after, events

    await change_record(PROBLEMS, problem_id, "problem", decide, deps)
