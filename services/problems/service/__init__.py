"""Problems' use cases: the dependencies they share and the read-decide-claim step every
record change goes through (shared.revisions.rewrite)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.auth import Principal
from shared.cache import Expiring
from shared.clock import Clock
from shared.errors import NotFound
from shared.events import Event
from shared.outbox import OutboxRelay
from shared.revisions import rewrite

from ..domain.knowledge import Knowledge
from ..domain.recurrence import RecurrenceIndex
from ..store import MongoProblemsStore
from ..webhooks import MongoDeliveryStore

M = TypeVar("M", bound=BaseModel)
Decision = tuple[M, list[Event[Any]]] | None


@dataclass
class Tracker:
    """The developers' bug tracker: where deficiency reports are posted, and the shared secret
    that signs them both ways."""

    url: str | None
    secret: str


@dataclass
class Detection:
    """What this replica's detectors have read from the store (service/incidents.py)."""

    marks_read_at: datetime | None = None
    resolved_read_at: datetime | None = None
    joined: dict[str, datetime] = field(default_factory=dict)  # ticket -> when marked
    waiting: set[str] = field(default_factory=set)  # marked, its ticket.created not yet here
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one sync at a time


@dataclass
class ProblemsDeps:
    store: MongoProblemsStore
    relay: OutboxRelay
    clock: Clock
    recurrence: RecurrenceIndex
    resolved: RecurrenceIndex = field(
        metadata={"doc": "Resolved tickets, for 'similar resolved tickets' (never announces)"}
    )
    deliveries: MongoDeliveryStore
    tracker: Tracker
    knowledge: Expiring[list[Knowledge]]
    detection: Detection = field(default_factory=Detection)
    loops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def who(principal: Principal) -> str:
    return principal.email or principal.name or principal.sub


async def get_record(collection: str, record_id: str, what: str, deps: ProblemsDeps) -> Any:
    record = await deps.store.records[collection].get(record_id)
    if record is None:
        raise NotFound(f"no {what} {record_id}")
    return record


async def insert_record(
    collection: str, record_id: str, state: M, events: list[Event[Any]], deps: ProblemsDeps
) -> M:
    async with deps.relay.writing(collection, record_id):
        await deps.store.records[collection].insert(record_id, state, events)
    return state


async def change_record(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
) -> Any:
    """Read, decide, claim the next revision (again when another writer came first); the
    record as it is afterwards."""
    records = deps.store.records[collection]

    async def decided(record: Any) -> Decision[Any]:
        return decide(record)

    async def save(before: Any, after: Any, events: list[Event[Any]]) -> bool:
        return await records.save(record_id, before.revision, after, events)

    done = await rewrite(
        deps.relay, collection, record_id, lambda: records.get(record_id), decided, save
    )
    if done is None:
        raise NotFound(f"no {what} {record_id}")
    before, after = done
    if after is before:
        return before
    return after.model_copy(update={"revision": before.revision + 1})
