"""Problems' use cases: the dependencies they share and the read-decide-compare-and-set step
every record change goes through (shared.versioned.rewrite)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.auth import Principal
from shared.cache import Expiring
from shared.clock import Clock
from shared.errors import Conflict, NotFound
from shared.events import Event
from shared.outbox import OutboxRelay
from shared.versioned import rewrite

from ..domain.knowledge import Knowledge
from ..domain.recurrence import RecurrenceIndex
from ..store import InWindow, MongoIncidentStore, MongoProblemsStore
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
    """What this replica's detectors have read from the store (service/recurrence.py)."""

    window_read_at: datetime | None = None
    resolved_read_at: datetime | None = None
    joined: dict[str, datetime] = field(default_factory=dict)  # ticket -> when it entered
    waiting: dict[str, InWindow] = field(default_factory=dict)  # its ticket.created not yet here


@dataclass
class ProblemsDeps:
    store: MongoProblemsStore
    incidents: MongoIncidentStore
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
    collection: str,
    record_id: str,
    state: M,
    events: list[Event[Any]],
    deps: ProblemsDeps,
    exists_ok: bool = False,
) -> bool:
    """The first revision with its events; False (or Conflict) when the id is taken."""
    async with deps.relay.writing(collection, record_id):
        inserted = await deps.store.records[collection].insert(record_id, state, events)
    if not inserted and not exists_ok:
        raise Conflict(f"{record_id} exists already")
    return inserted


@dataclass(frozen=True)
class Changed:
    """A record after a change, and the events that change wrote (none when nothing was to
    change)."""

    after: Any
    events: list[Event[Any]]


async def change_record(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
) -> Any:
    """Read, decide, compare-and-set the next revision (again when another writer came first);
    the record as it is afterwards."""
    return (await rewrite_record(collection, record_id, what, decide, deps)).after


async def rewrite_record(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
) -> Changed:
    """change_record, telling also which events the winning write carried."""
    records = deps.store.records[collection]
    written: list[Event[Any]] = []

    async def decided(record: Any) -> Decision[Any]:
        return decide(record)

    async def save(before: Any, after: Any, events: list[Event[Any]]) -> bool:
        saved = await records.save(record_id, before.revision, after, events)
        if saved:  # the write that counts: only it tells what was announced
            written[:] = events
        return saved

    done = await rewrite(
        deps.relay, collection, record_id, lambda: records.get(record_id), decided, save
    )
    if done is None:
        raise NotFound(f"no {what} {record_id}")
    before, after = done
    if after is before:
        return Changed(before, [])
    return Changed(after.model_copy(update={"revision": before.revision + 1}), written)
