"""Work items: one per ticket, each change a compare-and-set on its revision; and the open work,
the live set of items not yet resolved or closed that worklists and gauges read.

`work_items` grows with every ticket, and the local FerretDB answers only `_id` lookups from an
index (any other filter reads the whole collection), so what is read on every worklist request
and gauge round lives in `open_work`: one row per open item (queue, rank, due time, age), written
after the item with the item's revision, removed when the item is done. A row can lag its item
(a crash between the two writes, or two writers' rows landing out of order): the worklist reads
the items of its rows by `_id` and puts right any row that disagrees, and start-up rebuilds rows
from the open items (one pass).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document
from shared.events import Event
from shared.events.common import (
    Level,
    Priority,
    RequestKind,
    ServiceLevel,
    TicketStatus,
    TicketType,
)
from shared.events.problems import Suggestion
from shared.paging import Order, Position, Slice, read_slice
from shared.runtime import IndexSpec
from shared.versioned import Versioned

from ..domain import DONE, WorkSummary

WORK_ITEMS = "work_items"
OPEN_WORK = "open_work"  # ticket -> the worklist row of an open item (the live set)
CLOSE_DUE = "close_due"  # resolved items waiting for the quiet period: small, read by the sweep
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)  # rows without an SLA due time sort after the rest
WORKLIST = Order(
    (
        ("priority_rank", ASCENDING, int),
        ("due", ASCENDING, datetime),
        ("created_at", ASCENDING, datetime),
        ("_id", ASCENDING, str),  # the ticket: a unique last key, so pages never overlap
    )
)

ITEM_INDEXES: list[IndexSpec] = [
    (OPEN_WORK, [("queue", ASCENDING), *WORKLIST.sort], False),
    (OPEN_WORK, [("assignee", ASCENDING), *WORKLIST.sort], False),  # an agent's open work
    (WORK_ITEMS, [("status", ASCENDING)], False),  # the start-up pass over the open items
    (CLOSE_DUE, [("due", ASCENDING)], False),
]


class HistoryEntry(BaseModel):
    at: datetime
    what: str
    by: str | None = None
    reason: str = ""


class Correction(BaseModel):
    at: datetime
    by: str | None
    changed: dict[str, list[str | None]] = Field(description="field -> [was, now]")
    reason: str


class Resolution(BaseModel):
    resolution: str
    resolution_code: str = "solved"
    cause: str | None = None
    workaround: str | None = None
    failed_attempts: list[str] = Field(default_factory=list)
    fix_release: str | None = None
    fix_expected_on: date | None = None
    problem_id: str | None = None
    deficiency_report_id: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime


class WorkItem(BaseModel):
    ticket_id: str
    number: str
    subject: str
    organization_id: str | None
    service_level: ServiceLevel | None
    entitled: bool
    asset_critical: bool = False
    type: TicketType
    request_kind: RequestKind | None = None
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
    scores: dict[str, float] = Field(default_factory=dict)
    history: list[HistoryEntry]
    corrections: list[Correction] = Field(default_factory=list)
    sla_targets: dict[str, datetime] = Field(default_factory=dict, description="Open targets")
    sla_due_at: datetime | None = Field(default=None, description="Earliest open SLA target")
    breaches: int = 0
    escalations: int = 0
    revision: int = 0
    reopen_count: int = 0
    first_contact: bool = False
    resolution: Resolution | None = None
    closed_at: datetime | None = None
    problem_id: str | None = Field(default=None, description="The problem it is an incident of")
    suggestions: list[Suggestion] = Field(
        default_factory=list, description="Known errors and resolved tickets that may help"
    )


class TriageStore(Protocol):
    async def insert_item(self, item: WorkItem, events: Sequence[Event[Any]]) -> bool: ...
    async def get_item(self, ticket_id: str) -> WorkItem | None: ...
    async def save(
        self, before: WorkItem, after: WorkItem, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def queue_items(
        self, queue: str, limit: int, after: Position | None = None
    ) -> Slice[WorkItem]: ...
    async def assigned_items(
        self, agent: str, limit: int, after: Position | None = None
    ) -> Slice[WorkItem]: ...
    async def open_work(self) -> list[WorkSummary]: ...
    async def track_open_items(self) -> int: ...
    async def mark_close_due(self, ticket_id: str, due: datetime) -> None: ...
    async def unmark_close_due(self, ticket_id: str) -> None: ...
    async def close_due(self, now: datetime) -> list[str]: ...


class MongoTriageStore:
    def __init__(self, db: Database) -> None:
        self._items = db[WORK_ITEMS]
        self._revised: Versioned[WorkItem] = Versioned(
            db, WORK_ITEMS, WorkItem, service="triage", encode=_stored, decode=_dated
        )
        self._open = db[OPEN_WORK]
        self._close_due = db[CLOSE_DUE]

    async def insert_item(self, item: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """False when the work item exists already (a redelivered ticket.created)."""
        if not await self._revised.insert(item.ticket_id, item, events):
            return False
        await self._track(item.model_copy(update={"revision": 0}))
        return True

    async def get_item(self, ticket_id: str) -> WorkItem | None:
        return await self._revised.get(ticket_id)

    async def save(self, before: WorkItem, after: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """Write the next revision; False when another writer (another replica) came first
        (shared/versioned.py)."""
        if not await self._revised.save(before.ticket_id, before.revision, after, events):
            return False
        await self._track(after.model_copy(update={"revision": before.revision + 1}))
        return True

    async def queue_items(
        self, queue: str, limit: int, after: Position | None = None
    ) -> Slice[WorkItem]:
        """The next `limit` open items of the queue in worklist order after `after`: rows of
        the live set, then their items by `_id`; a row its item contradicts is put right and
        left out (the page is shorter; the next one starts after that row all the same)."""
        found = await read_slice(self._open, WORKLIST, limit, after, {"queue": queue})
        return await self._listed(found, lambda item: item.queue == queue)

    async def assigned_items(
        self, agent: str, limit: int, after: Position | None = None
    ) -> Slice[WorkItem]:
        """The agent's open items in worklist order after `after`, read as queue_items."""
        found = await read_slice(self._open, WORKLIST, limit, after, {"assignee": agent})
        return await self._listed(found, lambda item: item.assignee == agent)

    async def _listed(
        self, found: Slice[Document], agrees: Callable[[WorkItem], bool]
    ) -> Slice[WorkItem]:
        rows = found.items
        ids = [row["_id"] for row in rows]
        docs = await self._items.find({"_id": {"$in": ids}}).to_list(None)
        items = self._revised.load_each(docs)
        unreadable = {doc["_id"] for doc in docs} - items.keys()
        listed = []
        for row in rows:
            item = items.get(row["_id"])
            if row["_id"] in unreadable:
                continue  # logged and counted; its row stays for when it is repaired
            if item is None or item.status in DONE or not agrees(item):
                await self._forget_row(row["_id"], item)
                continue
            listed.append(item)
        return Slice(listed, found.more_after)

    async def open_work(self) -> list[WorkSummary]:
        """Queue, priority, status and age of every open item, for the backlog gauges."""
        return [
            WorkSummary(
                queue=d["queue"],
                priority=Priority(d["priority"]),
                status=TicketStatus(d["status"]),
                created_at=d["created_at"],
            )
            for d in await self._open.find({}).to_list(None)
        ]

    async def track_open_items(self) -> int:
        """Rows for every open item (start-up: what a crash between an item and its row left
        out); returns how many items were read."""
        query = {"status": {"$nin": [s.value for s in DONE]}}
        seen = 0
        async for doc in self._items.find(query):
            for item in self._revised.load_each([doc]).values():
                await self._track(item)
                # rows written before they carried the assignee get it (same revision)
                await self._open.update_one(
                    {"_id": item.ticket_id, "assignee": {"$exists": False}},
                    {"$set": {"assignee": item.assignee}},
                )
            seen += 1
        return seen

    async def _track(self, item: WorkItem) -> None:
        """Bring the item's row to this revision, unless a newer revision's row is there."""
        newer = {"_id": item.ticket_id, "revision": {"$lt": item.revision}}
        if item.status in DONE:
            await self._open.delete_one(newer)
            return
        row = {
            "queue": item.queue,
            "assignee": item.assignee,
            "priority": item.priority.value,
            "priority_rank": item.priority_rank,
            "due": item.sla_due_at or NO_DUE,
            "status": item.status.value,
            "created_at": item.created_at,
            "revision": item.revision,
        }
        try:
            await self._open.update_one(newer, {"$set": row}, upsert=True)
        except DuplicateKeyError:
            pass  # the row holds a newer revision already

    async def _forget_row(self, ticket_id: str, item: WorkItem | None) -> None:
        if item is None:
            await self._open.delete_one({"_id": ticket_id})
        else:
            await self._open.delete_one({"_id": ticket_id, "revision": {"$lte": item.revision}})
            await self._track(item)

    async def mark_close_due(self, ticket_id: str, due: datetime) -> None:
        await self._close_due.replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, "due": due}, upsert=True
        )

    async def unmark_close_due(self, ticket_id: str) -> None:
        await self._close_due.delete_one({"_id": ticket_id})

    async def close_due(self, now: datetime) -> list[str]:
        """Resolved items whose quiet period is over (a small set: resolved, not yet closed)."""
        entries = await self._close_due.find({"due": {"$lte": now}}).to_list(None)
        return [str(e["_id"]) for e in entries]


def _stored(state: Document) -> Document:
    """Dates as datetimes: BSON has no date-only type."""
    resolution = state.get("resolution")
    if resolution and isinstance(resolution.get("fix_expected_on"), date):
        day: date = resolution["fix_expected_on"]
        resolution["fix_expected_on"] = datetime(day.year, day.month, day.day)
    return state


def _dated(doc: Document) -> Document:
    resolution = doc.get("resolution")
    if resolution and isinstance(resolution.get("fix_expected_on"), datetime):
        resolution["fix_expected_on"] = resolution["fix_expected_on"].date()
    return doc
