"""Work items: one per ticket, each change a numbered revision claimed by a keyed insert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pymongo import ASCENDING

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
from shared.revisions import Revisioned
from shared.runtime import IndexSpec

from ..domain import DONE, WorkSummary

WORK_ITEMS = "work_items"
CLOSE_DUE = "close_due"  # resolved items waiting for the quiet period: small, read by the sweep

ITEM_INDEXES: list[IndexSpec] = [
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
    async def queue_items(self, queue: str, limit: int) -> list[WorkItem]: ...
    async def open_work(self) -> list[WorkSummary]: ...
    async def mark_close_due(self, ticket_id: str, due: datetime) -> None: ...
    async def unmark_close_due(self, ticket_id: str) -> None: ...
    async def close_due(self, now: datetime) -> list[str]: ...
    async def recover(self) -> int: ...
    async def purge_claims(self) -> int: ...


class MongoTriageStore:
    def __init__(self, db: Database) -> None:
        self._items = db[WORK_ITEMS]
        self._revised: Revisioned[WorkItem] = Revisioned(
            db, WORK_ITEMS, WorkItem, encode=_stored, decode=_dated
        )
        self._close_due = db[CLOSE_DUE]

    async def insert_item(self, item: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """False when the work item exists already (a redelivered ticket.created)."""
        return await self._revised.insert(item.ticket_id, item, events)

    async def get_item(self, ticket_id: str) -> WorkItem | None:
        """The current state, with any change a writer claimed but did not write rolled in."""
        return await self._revised.get(ticket_id)

    async def save(self, before: WorkItem, after: WorkItem, events: Sequence[Event[Any]]) -> bool:
        """Write the next revision; False when another writer (another replica) took it first
        (shared/revisions.py)."""
        return await self._revised.save(before.ticket_id, before.revision, after, events)

    async def recover(self) -> int:
        return await self._revised.recover()

    async def purge_claims(self) -> int:
        return await self._revised.purge()

    async def queue_items(self, queue: str, limit: int) -> list[WorkItem]:
        """The queue's open items (the caller orders them: priority, SLA due time, age)."""
        query = {"queue": queue, "status": {"$nin": ["resolved", "closed"]}}
        docs = await self._items.find(query).to_list(None)
        return [WorkItem.model_validate(_dated(d)) for d in docs]

    async def open_work(self) -> list[WorkSummary]:
        """Queue, priority, status and age of every open item, for the backlog gauges: one pass
        over the collection (FerretDB v1 scans it for any filter) with just those fields."""
        query = {"status": {"$nin": [s.value for s in DONE]}}
        fields = {"_id": 0, "queue": 1, "priority": 1, "status": 1, "created_at": 1}
        docs = await self._items.find(query, fields).to_list(None)
        return [
            WorkSummary(
                queue=d["queue"],
                priority=Priority(d["priority"]),
                status=TicketStatus(d["status"]),
                created_at=d["created_at"],
            )
            for d in docs
        ]

    async def mark_close_due(self, ticket_id: str, due: datetime) -> None:
        await self._close_due.replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, "due": due}, upsert=True
        )

    async def unmark_close_due(self, ticket_id: str) -> None:
        await self._close_due.delete_one({"_id": ticket_id})

    async def close_due(self, now: datetime) -> list[str]:
        entries = await self._close_due.find().to_list(None)  # small: resolved, not yet closed
        return [str(e["_id"]) for e in entries if e["due"] <= now]


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
