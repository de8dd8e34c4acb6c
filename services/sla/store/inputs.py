"""The events each clock was moved by, kept for recalculation, and the events held because they
came before their ticket's clock started: one document per ticket (`_id` = ticket id) holding
its events, each once (keyed by event id, so a redelivery keeps one copy)."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.db import Database, Document, is_duplicate
from shared.events import Event, parse_event

INPUTS = "clock_inputs"  # ticket id -> {events: [{id, time, event}]}
HELD = "held_inputs"  # the same, until the ticket's clock starts


class InputStore(Protocol):
    async def remember(self, ticket_id: str, event: Event[Any]) -> None: ...
    async def inputs_of(self, ticket_id: str) -> list[Event[Any]]: ...
    async def hold(self, ticket_id: str, event: Event[Any]) -> None: ...
    async def held(self, ticket_id: str) -> list[Event[Any]]: ...
    async def release(self, ticket_id: str, event: Event[Any]) -> bool: ...


class MongoInputStore:
    def __init__(self, db: Database) -> None:
        self._inputs = db[INPUTS]
        self._held = db[HELD]

    async def remember(self, ticket_id: str, event: Event[Any]) -> None:
        await _keep(self._inputs, ticket_id, event)

    async def inputs_of(self, ticket_id: str) -> list[Event[Any]]:
        return _events(await self._inputs.find_one({"_id": ticket_id}))

    async def hold(self, ticket_id: str, event: Event[Any]) -> None:
        """An event that came before its ticket's clock (the topics are read independently),
        kept until the clock starts."""
        await _keep(self._held, ticket_id, event)

    async def held(self, ticket_id: str) -> list[Event[Any]]:
        return _events(await self._held.find_one({"_id": ticket_id}))

    async def release(self, ticket_id: str, event: Event[Any]) -> bool:
        """Take a held event to apply it; False when another writer took it. The entry is
        pulled by its exact stored value, atomically: of two takers one modifies it."""
        doc = await self._held.find_one({"_id": ticket_id})
        entry = next((e for e in (doc or {}).get("events", []) if e["id"] == event.id), None)
        if entry is None:
            return False
        done = await self._held.update_one(
            {"_id": ticket_id, "events.id": event.id}, {"$pullAll": {"events": [entry]}}
        )
        if done.modified_count != 1:
            return False
        # the last one out removes the document (only while it is empty: a hold may follow)
        await self._held.delete_one({"_id": ticket_id, "events": {"$size": 0}})
        return True


async def _keep(collection: Any, ticket_id: str, event: Event[Any]) -> None:
    """Append the event once: a document that has it already does not match, and the upsert
    then meets its key."""
    entry = {"id": event.id, "time": event.time, "event": event.to_json().decode()}
    try:
        await collection.update_one(
            {"_id": ticket_id, "events.id": {"$ne": event.id}},
            {"$push": {"events": entry}},
            upsert=True,
        )
    except (DuplicateKeyError, OperationFailure) as exc:
        if not is_duplicate(exc):
            raise


def _events(doc: Document | None) -> list[Event[Any]]:
    """A ticket's kept events in time order."""
    entries = sorted((doc or {}).get("events", []), key=lambda e: e["time"])
    return [parse_event(e["event"].encode()) for e in entries]
