"""The facts' access path by period (periods.py says what it holds), kept beside `facts` and
read by `_id` only, so a report's period read costs the same at any size of history on
MongoDB and on FerretDB alike (FerretDB v1 serves nothing but `_id` from an index).

- FACTS_BY_HOUR: `"<yyyy-mm-ddTHH>|<field>"` -> `{ids: {<ticket id>: 1}}` (`$set` and `$unset`
  of one key; a map rather than an `$addToSet` array so that its content does not depend on
  the order writers came in, and a rebuild equals the live model); `"bounds"` -> the first
  and last hour stored per field (`$min`/`$max`), which an open end of a span is read up to;
  `"filled"`, the marker of the one pass that indexed the facts of a database from before
  this collection.
- FACTS_OPEN: `<ticket id>` -> `{}` for every fact never closed (a small live set).

Writers add a fact's new entries before the fact write and remove its old ones after it, so a
crash or a lost compare-and-set leaves at most a dangling id, which readers skip (they filter
every fact they read with reads.selects). A field's hour only moves forward (each time comes
from one topic, in order), so the removal of an old hour never undoes a newer writer's entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from shared.db import Database, Document, is_duplicate

from ..periods import OPEN, entries, hours_of, span_keys
from ..reads import Span

FACTS_BY_HOUR = "facts_by_hour"
FACTS_OPEN = "facts_open"
BOUNDS = "bounds"
FILLED = "filled"
KEYS_PER_READ = 240
"""Bucket keys per `$in` query (ten days of one field)."""
FILL_BATCH = 5000
"""Ids the start-up pass gathers before it writes them, bucket by bucket."""


class MongoFactIndex:
    def __init__(self, db: Database) -> None:
        self._buckets = db[FACTS_BY_HOUR]
        self._open = db[FACTS_OPEN]
        self._known: dict[str, tuple[str, str]] = {}
        """Field -> hours the stored bounds are known to cover (they only widen)."""

    async def add(self, ticket_id: str, keys: Iterable[str]) -> None:
        """List the fact under these entries (before the fact is written)."""
        keys = set(keys)
        if OPEN in keys:
            with contextlib.suppress(DuplicateKeyError):
                await self._open.insert_one({"_id": ticket_id})
        await self._widen(hours_of(keys))
        await self._add_ids({key: [ticket_id] for key in keys - {OPEN}})

    async def remove(self, ticket_id: str, keys: Iterable[str]) -> None:
        """Unlist the fact from entries it no longer has (after the fact is written)."""
        for key in keys:
            if key == OPEN:
                await self._open.delete_one({"_id": ticket_id})
            else:
                await self._buckets.update_one({"_id": key}, {"$unset": {_path(ticket_id): ""}})

    async def ids(self, spans: Sequence[Span]) -> set[str]:
        """The ids listed for the spans: the buckets of their hours, or the live set."""
        found: set[str] = set()
        if any(span.unset for span in spans):
            found |= {str(d["_id"]) async for d in self._open.find({}, {"_id": 1})}
        bounds = await self._bounds() if any(not s.unset for s in spans) else {}
        keys = sorted(
            {key for s in spans if not s.unset for key in span_keys(s, *_pair(bounds, s.field))}
        )
        for first in range(0, len(keys), KEYS_PER_READ):
            query = {"_id": {"$in": keys[first : first + KEYS_PER_READ]}}
            async for bucket in self._buckets.find(query):
                found.update(unquote(k) for k in bucket.get("ids", {}))
        return found

    async def fill(self, facts: AsyncIterable[Document]) -> None:
        """Index the facts of a database from before this access path: one pass, once per
        database (another replica doing the same at once only repeats idempotent writes)."""
        if await self._buckets.find_one({"_id": FILLED}) is not None:
            return
        pending: dict[str, list[str]] = {}
        gathered = 0
        async for doc in facts:
            for key in entries(doc.get("fact") or {}):
                if key == OPEN:
                    await self.add(str(doc["_id"]), [OPEN])
                else:
                    pending.setdefault(key, []).append(str(doc["_id"]))
                    gathered += 1
            if gathered >= FILL_BATCH:
                await self._flush(pending)
                pending, gathered = {}, 0
        await self._flush(pending)
        with contextlib.suppress(DuplicateKeyError):  # another replica was first
            await self._buckets.insert_one({"_id": FILLED})

    async def _flush(self, pending: dict[str, list[str]]) -> None:
        await self._widen(hours_of(pending))
        await self._add_ids(pending)

    async def _add_ids(self, ids: dict[str, list[str]]) -> None:
        if not ids:
            return
        updates = [
            UpdateOne({"_id": key}, {"$set": {_path(i): 1 for i in listed}}, upsert=True)
            for key, listed in sorted(ids.items())
        ]
        try:
            await self._buckets.bulk_write(updates, ordered=False)
        except BulkWriteError as exc:
            # Two writers creating one bucket at once (MongoDB may refuse the second upsert):
            # the bucket exists now, and setting the same keys again is harmless.
            if not all(e.get("code") == 11000 for e in exc.details.get("writeErrors", [])):
                raise
            await self._buckets.bulk_write(updates, ordered=False)

    async def _widen(self, hours: dict[str, tuple[str, str]]) -> None:
        """Widen the stored first/last hour per field to cover `hours` (before the buckets are
        written, so a reader that finds a bucket's ids also reads up to its hour)."""
        wider = {
            field: span for field, span in hours.items() if not _covers(self._known, field, span)
        }
        if not wider:
            return
        update = {
            "$min": {f"first.{field}": first for field, (first, _) in wider.items()},
            "$max": {f"last.{field}": last for field, (_, last) in wider.items()},
        }
        try:
            await self._buckets.update_one({"_id": BOUNDS}, update, upsert=True)
        except OperationFailure as exc:
            if not is_duplicate(exc):  # another writer created the bounds just now
                raise
            await self._buckets.update_one({"_id": BOUNDS}, update)
        for field, (first, last) in wider.items():
            known = self._known.get(field, (first, last))
            self._known[field] = (min(known[0], first), max(known[1], last))

    async def _bounds(self) -> dict[str, Any]:
        return await self._buckets.find_one({"_id": BOUNDS}) or {}


def _path(ticket_id: str) -> str:
    """The ticket id as a key of `ids`: keys hold neither '.' nor a leading '$' (an injective
    percent-encoding of those; ticket ids are UUIDs, which it leaves as they are)."""
    return "ids." + ticket_id.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _covers(known: dict[str, tuple[str, str]], field: str, span: tuple[str, str]) -> bool:
    if field not in known:
        return False
    return known[field][0] <= span[0] and span[1] <= known[field][1]


def _pair(bounds: dict[str, Any], field: str) -> tuple[str | None, str | None]:
    return bounds.get("first", {}).get(field), bounds.get("last", {}).get(field)
