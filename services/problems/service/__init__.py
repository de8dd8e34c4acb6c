"""Problems' use cases: the dependencies they share and the read-decide-compare-and-set step
every record change goes through (shared.versioned.rewrite).

A record stored in a form that does not load is refused with a 409 (BadRecord) by every change
but a PATCH: that one is applied to the stored document itself, and the result is stored when
it loads (`Repair`), so an operator can mend the record through the API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.auth import Principal
from shared.cache import Expiring
from shared.clock import Clock
from shared.errors import Conflict, NotFound
from shared.events import Event
from shared.outbox import OutboxRelay
from shared.records import BadRecord, invalid
from shared.versioned import MAX_WRITE_ATTEMPTS, rewrite

from ..domain.knowledge import Knowledge
from ..domain.recurrence import RecurrenceIndex
from ..store import InWindow, MongoIncidentStore, MongoProblemsStore
from ..webhooks import MongoDeliveryStore

log = logging.getLogger(__name__)
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


def _keep(_: Any) -> None:
    return None


@dataclass(frozen=True)
class Repair:
    """What a PATCH sets, to be applied to the stored document of a record that does not load;
    `check` holds the record's own rules on the result (raising FieldInvalid)."""

    fields: Mapping[str, Any]
    check: Callable[[Any], None] = _keep


async def change_record(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
    repair: Repair | None = None,
) -> Any:
    """Read, decide, compare-and-set the next revision (again when another writer came first);
    the record as it is afterwards."""
    changed = await rewrite_record(collection, record_id, what, decide, deps, repair)
    return changed.after


async def rewrite_record(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
    repair: Repair | None = None,
) -> Changed:
    """change_record, telling also which events the winning write carried. With `repair`, a
    record that does not load is repaired with it instead (no events)."""
    try:
        return await _rewrite(collection, record_id, what, decide, deps)
    except BadRecord as exc:
        if repair is None or (exc.collection, exc.record_id) != (collection, record_id):
            raise
    repaired = await repair_record(collection, record_id, what, repair, deps)
    if repaired is None:  # it loads by now: another writer repaired it
        return await _rewrite(collection, record_id, what, decide, deps)
    return Changed(repaired, [])


async def _rewrite(
    collection: str,
    record_id: str,
    what: str,
    decide: Callable[[Any], Decision[Any]],
    deps: ProblemsDeps,
) -> Changed:
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


async def repair_record(
    collection: str, record_id: str, what: str, repair: Repair, deps: ProblemsDeps
) -> Any | None:
    """The record whose stored document does not load, with the PATCH's fields set on that
    document: stored when the result loads (compare-and-set on the revision stored), else a
    422 naming what still does not. None when the record loads by now."""
    model = deps.store.model_of(collection)
    for _ in range(MAX_WRITE_ATTEMPTS):
        stored = await deps.store.stored(collection, record_id)
        if stored is None:
            raise NotFound(f"no {what} {record_id}")
        if _loads(model, stored):
            return None
        kept = {k: v for k, v in stored.items() if k != "revision"}
        try:
            state = model.model_validate({**kept, **repair.fields})
        except ValidationError as exc:
            raise invalid(exc) from None
        repair.check(state)
        revision = await deps.store.replace_stored(
            collection, record_id, stored.get("revision"), state
        )
        if revision is not None:
            log.warning("%s record %r repaired (%s)", collection, record_id, sorted(repair.fields))
            return state.model_copy(update={"revision": revision})
    raise Conflict(f"{what} {record_id} kept changing; try again")


def _loads(model: type[BaseModel], doc: Mapping[str, Any]) -> bool:
    try:
        model.model_validate(doc)
    except ValidationError:
        return False
    return True
