"""Triage's storage: one work item per ticket, with its outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, without_id
from shared.events import Event
from shared.events.common import Level, Priority, ServiceLevel, TicketStatus, TicketType
from shared.outbox import OUTBOX, serialise
from shared.runtime import IndexSpec

from .domain import Agent

WORK_ITEMS = "work_items"
REVISIONS = "work_item_revisions"  # "<ticket>#<n>": the claimed n-th state of a work item
AGENTS = "agents"

INDEXES: list[IndexSpec] = [
    (AGENTS, [("queues", ASCENDING)], False),
    (
        WORK_ITEMS,
        [("queue", ASCENDING), ("priority_rank", ASCENDING), ("created_at", ASCENDING)],
        False,
    ),
]


class HistoryEntry(BaseModel):
    at: datetime
    what: str
    by: str | None = None
    reason: str = ""


class WorkItem(BaseModel):
    ticket_id: str
    number: str
    subject: str
    organization_id: str | None
    service_level: ServiceLevel | None
    entitled: bool
    type: TicketType
    impact: Level
    urgency: Level
    priority: Priority
    priority_rank: int
    queue: str
    tier: int
    status: TicketStatus
    assignee: str | None = None
    created_at: datetime
    explanation: list[str]
    history: list[HistoryEntry]
    revision: int = 0
    reopen_count: int = 0
    resolution: str | None = None
    resolution_code: str | None = None
    first_contact: bool = False
    resolved_at: datetime | None = None
    closed_at: datetime | None = None


class TriageStore(Protocol):
    async def insert_item(self, item: WorkItem, events: Sequence[Event[Any]]) -> bool: ...
    async def get_item(self, ticket_id: str) -> WorkItem | None: ...
    async def save(
        self, before: WorkItem, after: WorkItem, events: Sequence[Event[Any]]
    ) -> bool: ...

    async def queue_items(self, queue: str, limit: int) -> list[WorkItem]: ...


class MongoTriageStore:
    def __init__(self, db: Database) -> None:
        self._items = db[WORK_ITEMS]
        self._revisions = db[REVISIONS]

    async def insert_item(self, item: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """False when the work item exists already (a redelivered ticket.created)."""
        doc: Document = {
            "_id": item.ticket_id,
            **item.model_dump(mode="python"),
            OUTBOX: serialise(events),
        }
        try:
            await self._items.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_item(self, ticket_id: str) -> WorkItem | None:
        """The current state, with any change a writer claimed but did not write rolled in."""
        doc = await self._items.find_one({"_id": ticket_id})
        while doc is not None:
            revision = int(doc.get("revision", 0))
            change = await self._revisions.find_one({"_id": f"{ticket_id}#{revision + 1}"})
            if change is None:
                return WorkItem.model_validate(doc)
            await self._apply(change, revision)
            doc = await self._items.find_one({"_id": ticket_id})
        return None

    async def save(self, before: WorkItem, after: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """Write the next revision; False when another writer (another replica) took it first.

        FerretDB v1 applies updates without a lock, so the claim is a keyed insert of the new
        state and its events; the work item is then brought up to it. A writer that dies in
        between leaves the claim, and the next read rolls it in.
        """
        revision = before.revision + 1
        state = after.model_copy(update={"revision": revision}).model_dump(mode="python")
        change: Document = {
            "_id": f"{after.ticket_id}#{revision}",
            "state": state,
            "events": serialise(events),
        }
        try:
            await self._revisions.insert_one(change)
        except DuplicateKeyError:
            return False
        await self._apply(change, before.revision)
        return True

    async def _apply(self, change: Document, revision: int) -> None:
        """Bring the work item from `revision` to the change's state; a no-op once done."""
        at = {"$in": [0, None]} if revision == 0 else revision  # older items had no revision
        await self._items.update_one(
            {"_id": change["state"]["ticket_id"], "revision": at},
            {"$set": change["state"], "$push": {OUTBOX: {"$each": change["events"]}}},
        )

    async def queue_items(self, queue: str, limit: int) -> list[WorkItem]:
        cursor = self._items.find({"queue": queue, "status": {"$nin": ["resolved", "closed"]}})
        docs = (
            await cursor.sort([("priority_rank", ASCENDING), ("created_at", ASCENDING)])
            .limit(limit)
            .to_list(limit)
        )
        return [WorkItem.model_validate(d) for d in docs]


class AgentStore(Protocol):
    async def insert_agent(self, agent: Agent) -> bool: ...
    async def get_agent(self, agent_id: str) -> Agent | None: ...
    async def list_agents(self, queue: str | None, limit: int) -> list[Agent]: ...


class MongoAgentStore:
    def __init__(self, db: Database) -> None:
        self._agents = db[AGENTS]

    async def insert_agent(self, agent: Agent) -> bool:
        try:
            await self._agents.insert_one({"_id": agent.id, **agent.model_dump()})
        except DuplicateKeyError:
            return False
        return True

    async def get_agent(self, agent_id: str) -> Agent | None:
        doc = await self._agents.find_one({"_id": agent_id})
        return Agent.model_validate(without_id(doc)) if doc else None

    async def list_agents(self, queue: str | None, limit: int) -> list[Agent]:
        query = {} if queue is None else {"queues": queue}
        docs = await self._agents.find(query).sort("_id", ASCENDING).limit(limit).to_list(limit)
        return [Agent.model_validate(without_id(d)) for d in docs]
