"""Clocks: one document per ticket (`_id` = ticket id) with its outbox, changed by compare-and-set
on its revision (shared.versioned); and the watched set, the clocks the predictor reads.

The watched set is a small live-set collection keyed by ticket, each entry carrying the revision
that put it there: the clocks with a target running, or with the history the predictor learns
from. It is written before the clock write that makes a clock watched (a crash in between leaves
an entry too many, never a watched clock missing) and dropped after the write that ends it,
unless a later revision put it back (the `revision` guard). Entries too many are harmless: the
predictor reads the clock and drops them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.db import Database, Document
from shared.events import Event
from shared.versioned import Versioned

from ..domain import SlaClock, watched

CLOCKS = "sla_clocks"
WATCHED = "sla_watched"  # ticket id -> {revision}: clocks the predictor reads
BATCH = 1000  # ids per `$in`: the most the local FerretDB looks up by its _id index
NO_OUTBOX = {"outbox": 0}


class ClockStore(Protocol):
    async def insert_clock(self, clock: SlaClock, events: Sequence[Event[Any]]) -> bool: ...
    async def get_clock(self, ticket_id: str) -> SlaClock | None: ...
    async def save_clock(
        self, before: SlaClock, after: SlaClock, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def watched_clocks(self) -> list[SlaClock]: ...
    async def unwatch(self, clock: SlaClock) -> None: ...
    async def clocks_of(
        self, ticket_ids: Sequence[str], policy_id: str | None, calendar_id: str | None
    ) -> list[SlaClock]: ...


class MongoClockStore:
    def __init__(self, db: Database) -> None:
        self._clocks: Versioned[SlaClock] = Versioned(db, CLOCKS, SlaClock, service="sla")
        self._docs = db[CLOCKS]
        self._watched = db[WATCHED]

    async def insert_clock(self, clock: SlaClock, events: Sequence[Event[Any]]) -> bool:
        if watched(clock):
            await self._watch(clock.ticket_id, 0)
        return await self._clocks.insert(clock.ticket_id, clock, events)

    async def get_clock(self, ticket_id: str) -> SlaClock | None:
        return await self._clocks.get(ticket_id)

    async def save_clock(
        self, before: SlaClock, after: SlaClock, events: Sequence[Event[Any]]
    ) -> bool:
        revision = before.revision + 1
        if watched(after):
            await self._watch(after.ticket_id, revision)
        saved = await self._clocks.save(before.ticket_id, before.revision, after, events)
        if saved and watched(before) and not watched(after):
            await self._unwatch(after.ticket_id, revision)
        return saved

    async def watched_clocks(self) -> list[SlaClock]:
        """The clocks in the watched set (for the predictor and the at-risk list): a pass over
        that small collection, then the clocks by _id."""
        entries: list[Document] = await self._watched.find({}, {"_id": 1}).to_list(None)
        return await self._by_ids([str(e["_id"]) for e in entries])

    async def unwatch(self, clock: SlaClock) -> None:
        """Out of the watched set, as of this revision of the clock (the predictor's pruning)."""
        await self._unwatch(clock.ticket_id, clock.revision)

    async def clocks_of(
        self, ticket_ids: Sequence[str], policy_id: str | None, calendar_id: str | None
    ) -> list[SlaClock]:
        """The clocks of these tickets, on this policy or on this calendar (a recalculation's
        scope: an admin's request, served by the indexes on policy_id and calendar_id)."""
        found = {c.ticket_id: c for c in await self._by_ids(list(dict.fromkeys(ticket_ids)))}
        for key, value in (("policy_id", policy_id), ("calendar_id", calendar_id)):
            if value:
                docs: list[Document] = await self._docs.find({key: value}, NO_OUTBOX).to_list(None)
                found.update((c.ticket_id, c) for c in map(self._clocks.load, docs))
        return [found[k] for k in sorted(found)]

    async def _by_ids(self, ticket_ids: Sequence[str]) -> list[SlaClock]:
        clocks: list[SlaClock] = []
        for i in range(0, len(ticket_ids), BATCH):
            wanted = {"_id": {"$in": list(ticket_ids[i : i + BATCH])}}
            docs: list[Document] = await self._docs.find(wanted, NO_OUTBOX).to_list(None)
            clocks.extend(map(self._clocks.load, docs))
        return clocks

    async def _watch(self, ticket_id: str, revision: int) -> None:
        # $max: a slower writer of an older revision never lowers the guard
        await self._watched.update_one(
            {"_id": ticket_id}, {"$max": {"revision": revision}}, upsert=True
        )

    async def _unwatch(self, ticket_id: str, revision: int) -> None:
        # only an entry put there for this revision or before: a later one is a later writer's
        await self._watched.delete_one({"_id": ticket_id, "revision": {"$lte": revision}})
