"""SLA's storage: one clock per ticket with its targets and outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document
from shared.events import Event
from shared.events.common import Priority, ServiceLevel
from shared.outbox import OUTBOX, serialise
from shared.runtime import IndexSpec

CLOCKS = "clocks"

INDEXES: list[IndexSpec] = [(CLOCKS, [("state", ASCENDING), ("next_check_at", ASCENDING)], False)]


class ClockTarget(BaseModel):
    name: str
    target_seconds: int
    due_at: datetime
    elapsed_seconds: int = 0
    state: str = "running"


class Clock(BaseModel):
    ticket_id: str
    number: str
    policy_id: str
    service_level: ServiceLevel | None
    priority: Priority
    calendar_id: str
    state: str
    started_at: datetime
    next_check_at: datetime
    targets: list[ClockTarget]


class SlaStore(Protocol):
    async def insert_clock(self, clock: Clock, events: Sequence[Event[Any]]) -> bool: ...
    async def get_clock(self, ticket_id: str) -> Clock | None: ...


class MongoSlaStore:
    def __init__(self, db: Database) -> None:
        self._clocks = db[CLOCKS]

    async def insert_clock(self, clock: Clock, events: Sequence[Event[Any]]) -> bool:
        doc: Document = {"_id": clock.ticket_id, **clock.model_dump(), OUTBOX: serialise(events)}
        try:
            await self._clocks.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_clock(self, ticket_id: str) -> Clock | None:
        doc = await self._clocks.find_one({"_id": ticket_id})
        return Clock.model_validate(doc) if doc else None
