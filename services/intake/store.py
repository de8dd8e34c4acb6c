"""Intake's storage: tickets with their conversation and outbox, numbered by a unique index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document
from shared.events import Event
from shared.outbox import OUTBOX, serialise
from shared.runtime import IndexSpec

from .domain import Ticket

TICKETS = "tickets"

INDEXES: list[IndexSpec] = [
    (TICKETS, [("seq", ASCENDING)], True),
    (TICKETS, [("number", ASCENDING)], True),
    (TICKETS, [("organization_id", ASCENDING), ("seq", DESCENDING)], False),
]


class IntakeStore(Protocol):
    async def highest_seq(self) -> int: ...
    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool: ...
    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...
    async def get_ticket_by_seq(self, seq: int) -> Ticket | None: ...
    async def list_tickets(
        self, organization_id: str | None, before_seq: int | None, limit: int
    ) -> list[Ticket]: ...


class MongoIntakeStore:
    def __init__(self, db: Database) -> None:
        self._tickets = db[TICKETS]

    async def highest_seq(self) -> int:
        doc = await self._tickets.find_one({}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return int(doc["seq"]) if doc else 0

    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool:
        """Insert with its number; False when another process took that number first."""
        doc = _to_doc(ticket)
        doc[OUTBOX] = serialise(events)
        try:
            await self._tickets.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        return _from_doc(await self._tickets.find_one({"_id": ticket_id}))

    async def get_ticket_by_seq(self, seq: int) -> Ticket | None:
        return _from_doc(await self._tickets.find_one({"seq": seq}))

    async def list_tickets(
        self, organization_id: str | None, before_seq: int | None, limit: int
    ) -> list[Ticket]:
        query: dict[str, Any] = {}
        if organization_id is not None:
            query["organization_id"] = organization_id
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        docs = await self._tickets.find(query).sort("seq", DESCENDING).limit(limit).to_list(limit)
        return [t for t in map(_from_doc, docs) if t is not None]


def _to_doc(ticket: Ticket) -> Document:
    doc = ticket.model_dump(mode="python", exclude={"id"})
    doc["_id"] = ticket.id
    return doc


def _from_doc(doc: Document | None) -> Ticket | None:
    if doc is None:
        return None
    return Ticket.model_validate({**doc, "id": doc["_id"]})
