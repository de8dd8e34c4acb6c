"""Versioned documents: state that several writers touch (a consumer, an API call, a scheduler, on
any replica) changes by compare-and-set on its `revision` field.

A writer reads the document at revision n, decides, and writes with
`update_one({_id, revision: n}, {$set: state at n + 1, $push: {outbox: events}})`. Of two writers
deciding from the same revision exactly one matches; the other reads again and decides again.
State and its events land in one atomic single-document write (shared/outbox.py relays them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from .db import Database, Document
from .errors import Conflict
from .events import Event
from .outbox import OUTBOX, OutboxRelay, serialise
from .records import BadRecord, load_one

M = TypeVar("M", bound=BaseModel)

MAX_WRITE_ATTEMPTS = 12


class Versioned(Generic[M]):
    def __init__(
        self,
        db: Database,
        collection: str,
        model: type[M],
        *,
        service: str,
        encode: Callable[[Document], Document] = lambda d: d,
        decode: Callable[[Document], Document] = lambda d: d,
    ) -> None:
        self.collection = collection
        self.service = service
        self._docs = db[collection]
        self._model = model
        self._encode = encode
        self._decode = decode

    async def insert(self, doc_id: str, state: M, events: Sequence[Event[Any]]) -> bool:
        """The first revision; False when the document exists already."""
        doc = {"_id": doc_id, **self._state(state, 0), OUTBOX: serialise(events)}
        try:
            await self._docs.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, doc_id: str) -> M | None:
        doc = await self._docs.find_one({"_id": doc_id})
        return self.load(doc) if doc is not None else None

    def load(self, doc: Document) -> M:
        """The state, or BadRecord (logged and counted) when the stored document does not load."""
        return load_one(self._model, self._decode(doc), self.collection, self.service)

    def load_each(self, docs: Iterable[Document]) -> dict[str, M]:
        """The states by `_id` of the documents that load (each one that does not is logged,
        counted and left out)."""
        states: dict[str, M] = {}
        for doc in docs:
            with contextlib.suppress(BadRecord):
                states[str(doc["_id"])] = self.load(doc)
        return states

    async def save(
        self, doc_id: str, revision: int, after: M, events: Sequence[Event[Any]]
    ) -> bool:
        """Write revision + 1 if the document is still at `revision`; False when another writer
        came first."""
        update: Document = {"$set": self._state(after, revision + 1)}
        if events:
            update["$push"] = {OUTBOX: {"$each": serialise(events)}}
        done = await self._docs.update_one({"_id": doc_id, "revision": revision}, update)
        return done.matched_count == 1

    def _state(self, state: M, revision: int) -> Document:
        dumped = state.model_dump(mode="python")
        dumped["revision"] = revision
        return self._encode(dumped)


async def rewrite(
    relay: OutboxRelay,
    collection: str,
    doc_id: str,
    read: Callable[[], Awaitable[M | None]],
    decide: Callable[[M], Awaitable[tuple[M, list[Event[Any]]] | None]],
    save: Callable[[M, M, list[Event[Any]]], Awaitable[bool]],
) -> tuple[M, M] | None:
    """Read, decide, compare-and-set the next revision; read and decide again when another
    writer came first. `decide` sees only what this attempt read and has no side effects: count
    and alert on what this returns. Returns (before, after), after being before when nothing
    was to change; None when there is no such document."""
    for attempt in range(MAX_WRITE_ATTEMPTS):
        before = await read()
        if before is None:
            return None
        decided = await decide(before)
        if decided is None:
            return before, before
        after, events = decided
        relay.expect(collection, doc_id)
        if await save(before, after, events):
            await relay.written(collection, doc_id)
            return before, after
        relay.notify(collection, doc_id)  # nothing of ours to relay: lets a flush forget it
        await asyncio.sleep(min(0.05, 0.001 * 2**attempt))  # let the winner's write settle
    raise Conflict(f"{collection} {doc_id} kept changing; try again")
