"""The knowledge base: known errors and solution articles, failed attempts recorded against a
known error, and ranked search (seed 000 step 2b)."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal
from shared.events import Event
from shared.paging import Position, Slice

from ..domain import knowledge as rules
from ..domain.knowledge import (
    AttemptRequest,
    Hit,
    Knowledge,
    KnowledgeEdit,
    KnowledgeKind,
    KnowledgeRequest,
)
from ..store import KNOWLEDGE, NEWEST_ID, PROBLEMS
from . import ProblemsDeps, Repair, change_record, get_record, who
from .problems import publish_knowledge, refer_to


async def all_knowledge(deps: ProblemsDeps) -> list[Knowledge]:
    async def load() -> list[Knowledge]:
        return await deps.store.load_all(KNOWLEDGE, Knowledge)

    return await deps.knowledge.get(load)


async def add_knowledge(
    kind: KnowledgeKind, request: KnowledgeRequest, deps: ProblemsDeps
) -> Knowledge:
    if request.problem_id is not None:
        await get_record(PROBLEMS, request.problem_id, "problem", deps)
    rules.complete(kind, request.workaround, request.fix, request.body)
    prefix = "KE" if kind is KnowledgeKind.KNOWN_ERROR else "KB"
    item = rules.create(await deps.store.next_id(prefix), kind, request, deps.clock.now())
    published = await publish_knowledge(item, deps)
    if request.problem_id is not None and kind is KnowledgeKind.KNOWN_ERROR:
        await refer_to(request.problem_id, "known_error_ids", item.id, deps)
    return published


async def get_knowledge(item_id: str, deps: ProblemsDeps) -> Knowledge:
    item: Knowledge = await get_record(KNOWLEDGE, item_id, "knowledge item", deps)
    return item


async def list_knowledge(
    kind: KnowledgeKind, deps: ProblemsDeps, limit: int, after: Position | None
) -> Slice[Knowledge]:
    """Known errors or articles, newest first."""
    where = {"kind": kind.value}
    return await deps.store.page(KNOWLEDGE, Knowledge, NEWEST_ID, limit, after, where)


async def edit_knowledge(item_id: str, change: KnowledgeEdit, deps: ProblemsDeps) -> Knowledge:
    now = deps.clock.now()

    def decide(item: Knowledge) -> tuple[Knowledge, list[Event[Any]]] | None:
        return rules.edited(item, change, now), []

    fields = change.model_dump(exclude_unset=True)
    repair = Repair({**fields, "updated_at": now}, rules.texts_kept)
    item: Knowledge = await change_record(
        KNOWLEDGE, item_id, "knowledge item", decide, deps, repair
    )
    deps.knowledge.forget()
    return item


async def record_attempt(
    item_id: str, request: AttemptRequest, by: Principal, deps: ProblemsDeps
) -> Knowledge:
    """A solution that was tried against this known error and did not help (seed 001)."""
    now = deps.clock.now()

    def decide(item: Knowledge) -> tuple[Knowledge, list[Event[Any]]] | None:
        return rules.attempted(item, request, who(by), now), []

    item: Knowledge = await change_record(KNOWLEDGE, item_id, "knowledge item", decide, deps)
    deps.knowledge.forget()
    return item


async def search(query: str, limit: int, deps: ProblemsDeps) -> list[Hit]:
    return rules.search(await all_knowledge(deps), query, limit)
