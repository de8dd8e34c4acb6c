"""SLA's storage: clocks (revisioned, with their outbox), the timer buckets the scheduler reads
by key, the scheduler's lease and cursor, calendars, their assignments and policy overrides."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo.errors import DuplicateKeyError

from shared.db import (
    Database,
    Document,
    existing,
    partition_names,
    partition_of,
    without_id,
)
from shared.events import Event, parse_event
from shared.revisions import Revisioned
from shared.runtime import IndexSpec

from .domain import Calendar, Policy, SlaClock

CLOCKS = "sla_clocks"
TIMERS = "sla_timers"  # "<second>#<n>" -> ticket; "m<minute>" marks a minute with any timer
SCHEDULER = "sla_scheduler"  # "lease" (holder, until) and "cursor" (last second read)
CALENDARS = "calendars"
ASSIGNMENTS = "calendar_assignments"  # "organization:<id>" / "queue:<key>" -> calendar id
POLICIES = "policy_overrides"
INPUTS = "clock_inputs"  # "<ticket>|<event id>" -> the event, for recalculation
HELD = "held_inputs"  # events that came before their ticket's clock started, until it does

INDEXES: list[IndexSpec] = []  # every read is by _id, the only filter FerretDB v1 pushes down
SECOND = "%Y%m%d%H%M%S"
# Clocks (by ticket) and timers (by minute) are split into several collections, which bounds
# FerretDB's _id scans (shared.db.partition_of). A scan costs about 12 microseconds a row for a
# clock (a kilobyte and a half of JSON) and one for a timer: 100,000 open clocks make ~200 a
# clock collection and ~1,600 a timer collection. Changing these strands what is stored: they
# are constants, not settings.
CLOCK_PARTS = 512
TIMER_PARTS = 64


def clock_collections() -> list[str]:
    """Every collection holding clocks, with their outboxes (for the relay's start-up pass)."""
    return partition_names(CLOCKS, CLOCK_PARTS)


def second_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SECOND)


class ClockStore(Protocol):
    async def insert_clock(self, clock: SlaClock, events: Sequence[Event[Any]]) -> bool: ...
    async def get_clock(self, ticket_id: str) -> SlaClock | None: ...
    async def save_clock(
        self, before: SlaClock, after: SlaClock, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def all_clocks(self) -> list[SlaClock]: ...
    async def recover(self) -> int: ...
    async def purge_claims(self) -> int: ...
    def collection_of(self, ticket_id: str) -> str: ...


class TimerStore(Protocol):
    async def add_timer(self, ticket_id: str, at: datetime) -> None: ...
    async def timers_at(self, second: datetime) -> list[str]: ...
    async def purge(self, before: datetime) -> int: ...
    async def minute_has_timers(self, minute: datetime) -> bool: ...
    async def cursor(self) -> datetime | None: ...
    async def move_cursor(self, to: datetime) -> None: ...
    async def take_lease(self, holder: str, now: datetime, hold: timedelta) -> bool: ...
    async def lease(self) -> tuple[str, datetime] | None: ...


class MongoClockStore:
    def __init__(self, db: Database) -> None:
        self._clocks: Revisioned[SlaClock] = Revisioned(db, CLOCKS, SlaClock, parts=CLOCK_PARTS)
        self._db = db

    def collection_of(self, ticket_id: str) -> str:
        return self._clocks.collection_of(ticket_id)

    async def recover(self) -> int:
        return await self._clocks.recover()

    async def purge_claims(self) -> int:
        return await self._clocks.purge()

    async def all_clocks(self) -> list[SlaClock]:
        """Every clock (a pass over the collections: for the predictor, once a minute)."""
        clocks: list[SlaClock] = []
        for name in await existing(self._db, self._clocks.collections()):
            docs = await self._db[name].find({}, {"outbox": 0}).to_list(None)
            clocks.extend(SlaClock.model_validate(without_id(d)) for d in docs)
        return clocks

    async def insert_clock(self, clock: SlaClock, events: Sequence[Event[Any]]) -> bool:
        return await self._clocks.insert(clock.ticket_id, clock, events)

    async def get_clock(self, ticket_id: str) -> SlaClock | None:
        return await self._clocks.get(ticket_id)

    async def save_clock(
        self, before: SlaClock, after: SlaClock, events: Sequence[Event[Any]]
    ) -> bool:
        return await self._clocks.save(before.ticket_id, before.revision, after, events)


class MongoTimerStore:
    """Timers by the second they are due, read by _id: a tick costs a few look-ups per second
    gone by (one per whole minute without timers), however many clocks are open.

    FerretDB v1 checks a unique key from its index on insert but finds an _id only by scanning
    (a missing one by scanning all), so the scheduler never asks for a key that may be
    missing: it inserts a tombstone there instead (atomic, cheap). A duplicate means the key
    exists and is read; a tombstone closes a second (or a minute) the scheduler has read. A
    writer whose second or minute is closed already (clocks of two processes a hair apart)
    moves its timer on. A minute's timers and marker share one of TIMER_PARTS collections, so
    reading an existing key scans a small collection.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._scheduler = db[SCHEDULER]
        self._next: dict[str, int] = {}  # per second, where this process tries next

    async def add_timer(self, ticket_id: str, at: datetime) -> None:
        while True:
            second = second_of(at)
            if not await self._open(f"m{second[:12]}"):
                at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
                continue
            n = self._next.get(second, 0)
            while True:
                key = f"{second}#{n}"
                try:
                    await self._of(key).insert_one({"_id": key, "ticket_id": ticket_id})
                except DuplicateKeyError:
                    if await self._is_tombstone(key):
                        break  # the scheduler has read this second: the next one
                    n += 1
                    continue
                self._next[second] = n + 1
                if len(self._next) > 10_000:
                    self._next.clear()
                return
            at = at.replace(microsecond=0) + timedelta(seconds=1)

    def _of(self, key: str) -> Any:
        """The collection of an entry ("<second>#<n>") or of a minute's marker ("m<minute>")."""
        minute = key[1:13] if key.startswith("m") else key[:12]
        return self._db[partition_of(TIMERS, minute, TIMER_PARTS)]

    async def _open(self, marker: str) -> bool:
        """Mark a minute as having timers; False when the scheduler closed it already."""
        try:
            await self._of(marker).insert_one({"_id": marker})
        except DuplicateKeyError:
            return not await self._is_tombstone(marker)
        return True

    async def _is_tombstone(self, key: str) -> bool:
        doc = await self._of(key).find_one({"_id": key})
        return bool(doc and doc.get("closed"))

    async def _probe(self, key: str) -> dict[str, Any] | None:
        """The document at `key` if a writer put one there; else close the key, for good."""
        try:
            await self._of(key).insert_one({"_id": key, "closed": True})
        except DuplicateKeyError:
            doc = await self._of(key).find_one({"_id": key})
            return None if doc is None or doc.get("closed") else doc
        return None

    async def timers_at(self, second: datetime) -> list[str]:
        key = second_of(second)
        found = []
        n = 0
        while doc := await self._probe(f"{key}#{n}"):
            found.append(str(doc["ticket_id"]))
            n += 1
        return found

    async def purge(self, before: datetime) -> int:
        """Drop what the scheduler read long ago (one pass over the collections, now and then)."""
        second = second_of(before)
        dropped = 0
        for name in await existing(self._db, partition_names(TIMERS, TIMER_PARTS)):
            entries = await self._db[name].delete_many({"_id": {"$lt": second}})
            markers = await self._db[name].delete_many(
                {"_id": {"$gte": "m", "$lt": f"m{second[:12]}"}}
            )
            dropped += entries.deleted_count + markers.deleted_count
        return dropped

    async def minute_has_timers(self, minute: datetime) -> bool:
        """Only for minutes wholly past: writers no longer aim at them."""
        return await self._probe(f"m{second_of(minute)[:12]}") is not None

    async def cursor(self) -> datetime | None:
        doc = await self._scheduler.find_one({"_id": "cursor"})
        return doc["at"] if doc else None

    async def move_cursor(self, to: datetime) -> None:
        await self._scheduler.replace_one(
            {"_id": "cursor"}, {"_id": "cursor", "at": to}, upsert=True
        )

    async def lease(self) -> tuple[str, datetime] | None:
        doc = await self._scheduler.find_one({"_id": "lease"})
        return (str(doc["holder"]), doc["until"]) if doc else None

    async def take_lease(self, holder: str, now: datetime, hold: timedelta) -> bool:
        """Hold or renew the scheduler's lease. A lapsed lease is taken over by deleting exactly
        the lapsed one and inserting anew: of two replicas trying, one insert wins."""
        doc = await self._scheduler.find_one({"_id": "lease"})
        if doc is not None and doc["holder"] == holder:
            await self._scheduler.update_one(
                {"_id": "lease", "holder": holder}, {"$set": {"until": now + hold}}
            )
            return True
        if doc is not None and doc["until"] > now:
            return False
        if doc is not None:
            await self._scheduler.delete_one(
                {"_id": "lease", "holder": doc["holder"], "until": doc["until"]}
            )
        try:
            await self._scheduler.insert_one(
                {"_id": "lease", "holder": holder, "until": now + hold}
            )
        except DuplicateKeyError:
            return False
        return True


class InputStore(Protocol):
    async def remember(self, ticket_id: str, event: Event[Any]) -> None: ...
    async def inputs_of(self, ticket_id: str) -> list[Event[Any]]: ...
    async def hold(self, ticket_id: str, event: Event[Any]) -> None: ...
    async def held(self, ticket_id: str) -> list[Event[Any]]: ...
    async def release(self, ticket_id: str, event: Event[Any]) -> bool: ...


class MongoInputStore:
    """The events each clock was moved by (keyed, so a redelivery keeps one copy)."""

    def __init__(self, db: Database) -> None:
        self._inputs = db[INPUTS]
        self._held = db[HELD]

    async def remember(self, ticket_id: str, event: Event[Any]) -> None:
        await _keep(self._inputs, ticket_id, event)

    async def inputs_of(self, ticket_id: str) -> list[Event[Any]]:
        return await _kept(self._inputs, ticket_id)

    async def hold(self, ticket_id: str, event: Event[Any]) -> None:
        """An event that came before its ticket's clock (the topics are read independently):
        kept apart, in a collection small enough to read by ticket, until the clock starts."""
        await _keep(self._held, ticket_id, event)

    async def held(self, ticket_id: str) -> list[Event[Any]]:
        return await _kept(self._held, ticket_id)

    async def release(self, ticket_id: str, event: Event[Any]) -> bool:
        """Take a held event to apply it; False when another writer took it."""
        done = await self._held.delete_one({"_id": f"{ticket_id}|{event.id}"})
        return done.deleted_count == 1


async def _keep(collection: Any, ticket_id: str, event: Event[Any]) -> None:
    """Keep a ticket's event once (keyed: a redelivery keeps one copy)."""
    doc = {
        "_id": f"{ticket_id}|{event.id}",
        "ticket_id": ticket_id,
        "time": event.time,
        "event": event.to_json().decode(),
    }
    with contextlib.suppress(DuplicateKeyError):
        await collection.insert_one(doc)


async def _kept(collection: Any, ticket_id: str) -> list[Event[Any]]:
    """A ticket's kept events in time order (a pass over the collection)."""
    docs = await collection.find({"ticket_id": ticket_id}).to_list(None)
    return [parse_event(d["event"].encode()) for d in sorted(docs, key=lambda d: d["time"])]


class SetupStore(Protocol):
    async def calendars(self) -> list[Calendar]: ...
    async def put_calendar(self, calendar: Calendar) -> None: ...
    async def assignments(self) -> dict[str, str]: ...
    async def assign(self, key: str, calendar_id: str | None) -> None: ...
    async def policy_overrides(self) -> list[Policy]: ...
    async def put_policy(self, policy: Policy) -> None: ...


class MongoSetupStore:
    def __init__(self, db: Database) -> None:
        self._calendars = db[CALENDARS]
        self._assignments = db[ASSIGNMENTS]
        self._policies = db[POLICIES]

    async def calendars(self) -> list[Calendar]:
        docs = await self._calendars.find().to_list(None)
        return [Calendar.model_validate(_calendar_from(without_id(d))) for d in docs]

    async def put_calendar(self, calendar: Calendar) -> None:
        doc = {"_id": calendar.id, **_calendar_to(calendar.model_dump(mode="json"))}
        await self._calendars.replace_one({"_id": calendar.id}, doc, upsert=True)

    async def assignments(self) -> dict[str, str]:
        return {
            str(d["_id"]): d["calendar_id"] for d in await self._assignments.find().to_list(None)
        }

    async def assign(self, key: str, calendar_id: str | None) -> None:
        if calendar_id is None:
            await self._assignments.delete_one({"_id": key})
            return
        doc = {"_id": key, "calendar_id": calendar_id}
        await self._assignments.replace_one({"_id": key}, doc, upsert=True)

    async def policy_overrides(self) -> list[Policy]:
        docs = await self._policies.find().to_list(None)
        return [Policy.model_validate(without_id(d)) for d in docs]

    async def put_policy(self, policy: Policy) -> None:
        doc = {"_id": policy.id, **policy.model_dump(mode="json")}
        await self._policies.replace_one({"_id": policy.id}, doc, upsert=True)


def _calendar_to(doc: Document) -> Document:
    """Opening hours as "08:00:00-17:00:00" strings: FerretDB stores no nested arrays."""
    doc["hours"] = {day: [f"{a}-{b}" for a, b in spans] for day, spans in doc["hours"].items()}
    return doc


def _calendar_from(doc: Document) -> Document:
    doc["hours"] = {day: [s.split("-") for s in spans] for day, spans in doc["hours"].items()}
    return doc
