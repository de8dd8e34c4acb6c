"""Due timers: one bucket per second (`_id` "%Y%m%d%H%M%S") holding the tickets to check once
that second is over, and the scheduler's lease and cursor.

A writer adds a ticket to a bucket still open (`closed` not set), creating it if need be; the
scheduler reads a second and closes it in one atomic write, so a writer either lands before
the read or finds the bucket closed (a duplicate key on its upsert) and moves to the next
second. Writers never aim behind the cursor. Closed buckets are deleted by _id once the cursor
is KEEP past them; so a writer is assumed never to take KEEP between reading the cursor and
writing, and by the same bound a second more than KEEP behind the present is read without
closing it (no writer aims there any more): catching up after downtime costs one `$in` read
per thousand seconds, not a write per second. Every read is by _id, whatever is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from shared.db import Database, Document, is_duplicate

TIMERS = "sla_timers"  # second -> {tickets: [ticket id], closed: bool}
SCHEDULER = "sla_scheduler"  # "lease" (holder, until) and "cursor" (last second read)
SECOND_FORMAT = "%Y%m%d%H%M%S"
SECOND = timedelta(seconds=1)
KEEP = timedelta(minutes=10)
BATCH = 1000  # ids per `$in`: the most the local FerretDB looks up by its _id index


def second_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SECOND_FORMAT)


def seconds_between(after: datetime, upto: datetime) -> list[str]:
    """The whole seconds after `after` up to `upto`, as bucket keys."""
    start = after.replace(microsecond=0) + SECOND
    count = (upto.replace(microsecond=0) - start) // SECOND + 1
    return [second_of(start + n * SECOND) for n in range(max(count, 0))]


class TimerStore(Protocol):
    async def add_timer(self, ticket_id: str, at: datetime) -> None: ...
    async def due(self, after: datetime, upto: datetime, present: datetime) -> list[str]: ...
    async def cursor(self) -> datetime | None: ...
    async def move_cursor(self, frm: datetime, to: datetime) -> None: ...
    async def take_lease(self, holder: str, now: datetime, hold: timedelta) -> bool: ...
    async def lease(self) -> tuple[str, datetime] | None: ...


class MongoTimerStore:
    def __init__(self, db: Database) -> None:
        self._timers = db[TIMERS]
        self._scheduler = db[SCHEDULER]

    async def add_timer(self, ticket_id: str, at: datetime) -> None:
        """Check the ticket's clock once the second of `at` is over (or a later one)."""
        cursor = await self.cursor()
        second = max(at, cursor + SECOND) if cursor is not None else at
        while True:
            try:
                await self._timers.update_one(
                    {"_id": second_of(second), "closed": {"$ne": True}},
                    {"$addToSet": {"tickets": ticket_id}},
                    upsert=True,
                )
                return
            except (DuplicateKeyError, OperationFailure) as exc:
                if not is_duplicate(exc):
                    raise
                # closed: the scheduler has read that second (a writer racing us to create
                # the bucket on MongoDB lands here too: one second later is harmless)
                second += SECOND

    async def due(self, after: datetime, upto: datetime, present: datetime) -> list[str]:
        """The tickets of the seconds after `after` up to `upto`, in time order; the seconds
        writers may still aim at (within KEEP of `present`) are closed as they are read."""
        seconds = seconds_between(after, upto)
        horizon = second_of(present - KEEP)
        old = [s for s in seconds if s <= horizon]
        recent = [s for s in seconds if s > horizon]
        found = await self._read(old) + await self._close(recent)
        return list(dict.fromkeys(found))

    async def _read(self, seconds: Sequence[str]) -> list[str]:
        tickets: list[str] = []
        for i in range(0, len(seconds), BATCH):
            batch = {"_id": {"$in": list(seconds[i : i + BATCH])}}
            docs: list[Document] = await self._timers.find(batch).to_list(None)
            for doc in sorted(docs, key=lambda d: str(d["_id"])):
                tickets.extend(doc.get("tickets") or [])
        return tickets

    async def _close(self, seconds: Sequence[str]) -> list[str]:
        held = await self._close_empty(seconds) if len(seconds) > 1 else list(seconds)
        tickets: list[str] = []
        for second in held:
            doc = await self._timers.find_one_and_update(
                {"_id": second},
                {"$set": {"closed": True}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            tickets.extend((doc or {}).get("tickets") or [])
        return tickets

    async def _close_empty(self, seconds: Sequence[str]) -> list[str]:
        """Close, in one write, the seconds no writer has aimed at (catching up); returns the
        others, in order: they hold a bucket, read and closed one by one."""
        closed = [{"_id": s, "tickets": [], "closed": True} for s in seconds]
        try:
            await self._timers.insert_many(closed, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return sorted(seconds[e["index"]] for e in errors)
        return []

    async def cursor(self) -> datetime | None:
        doc = await self._scheduler.find_one({"_id": "cursor"})
        return doc["at"] if doc else None

    async def move_cursor(self, frm: datetime, to: datetime) -> None:
        """Every timer up to `to` is handled; the buckets now KEEP behind it go."""
        # $max: a replica whose lease lapsed mid-round never moves the cursor back
        await self._scheduler.update_one({"_id": "cursor"}, {"$max": {"at": to}}, upsert=True)
        gone = seconds_between(frm - KEEP, to - KEEP)
        for i in range(0, len(gone), BATCH):
            await self._timers.delete_many({"_id": {"$in": gone[i : i + BATCH]}})

    async def lease(self) -> tuple[str, datetime] | None:
        doc = await self._scheduler.find_one({"_id": "lease"})
        return (str(doc["holder"]), doc["until"]) if doc else None

    async def take_lease(self, holder: str, now: datetime, hold: timedelta) -> bool:
        """Hold or renew the scheduler's lease in one write: mine or lapsed, it is (re)taken;
        held by another, the upsert meets the existing key."""
        try:
            await self._scheduler.find_one_and_update(
                {"_id": "lease", "$or": [{"holder": holder}, {"until": {"$lte": now}}]},
                {"$set": {"holder": holder, "until": now + hold}},
                upsert=True,
            )
        except (DuplicateKeyError, OperationFailure) as exc:
            if not is_duplicate(exc):
                raise
            return False
        return True
