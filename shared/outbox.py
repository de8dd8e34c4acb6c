"""The in-document outbox: events are written with the state they describe, then relayed.

A use case saves its document with the new events appended to its `outbox` array in the same write.
The relay publishes a document's events in order, then removes exactly those. A crash between the
write and the publish loses nothing; a crash between the publish and the removal publishes again,
which consumers absorb by event id.

Finding what is left to relay: each write is followed by a marker in the small `outbox_pending`
collection (the live set of documents with events to relay, keyed by document), removed by the
flush before it reads the document. A write after that read leaves a marker of its own, so no
event is ever without a marker or a flush to come, and the periodic sweep reads the markers, not
the big collections. A crash between a write and its marker is caught by the one pass over the
outbox collections at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from . import metrics
from .bus import TRANSIENT_ERRORS, EventPublisher
from .clock import Clock
from .db import Database, Document
from .events import Event

log = logging.getLogger(__name__)

OUTBOX = "outbox"
PENDING = {"outbox.0": {"$exists": True}}
MARKERS = "outbox_pending"


def serialise(events: Iterable[Event[Any]]) -> list[dict[str, Any]]:
    """Events as they are stored in a document's outbox: JSON-ready, exactly as published."""
    return [json.loads(event.to_json()) for event in events]


def push_events(events: Sequence[Event[Any]]) -> dict[str, Any]:
    """The update fragment that appends events to a document's outbox."""
    return {"$push": {OUTBOX: {"$each": serialise(events)}}}


class OutboxRelay:
    def __init__(
        self,
        *,
        db: Database,
        publisher: EventPublisher,
        collections: Sequence[str],
        sweep_seconds: float,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._db = db
        self._publisher = publisher
        self._collections = tuple(collections)
        self._sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._unflushed: dict[str, tuple[str, Any]] = {}  # written here, not yet relayed
        self._writes: dict[str, int] = {}  # per document: writes registered here, for flush
        self._task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def writing(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        """Around a write that appends outbox events: relay them once it succeeded."""
        self.expect(collection, doc_id)
        yield
        await self.written(collection, doc_id)

    def expect(self, collection: str, doc_id: Any) -> None:
        """A write with outbox events is about to be made: known before it, so a shutdown
        that cancels the writer between its write and `written` still drains the document."""
        key = _key(collection, doc_id)
        self._unflushed[key] = (collection, doc_id)
        self._writes[key] = self._writes.get(key, 0) + 1

    async def written(self, collection: str, doc_id: Any) -> None:
        """A document has new outbox events: mark it, and relay them now."""
        self.expect(collection, doc_id)
        await self._mark(collection, doc_id)
        self.notify(collection, doc_id)

    def notify(self, collection: str, doc_id: Any) -> None:
        """Relay a document's outbox events now instead of at the next sweep."""
        self._queue.put_nowait((collection, doc_id))

    async def flush(self, collection: str, doc_id: Any) -> int:
        """Publish and remove the pending events of one document; returns how many.

        The marker goes first: a write after the read below marks the document again. Events
        are removed by value, so a write between the read and the removal keeps its own.
        """
        coll = self._db[collection]
        key = _key(collection, doc_id)
        writes = self._writes.get(key)
        await self._db[MARKERS].delete_one({"_id": _marker_id(collection, doc_id)})
        try:
            doc = await coll.find_one({"_id": doc_id})
            events: list[dict[str, Any]] = (doc or {}).get(OUTBOX) or []
            for event in events:
                await self._publisher.publish(event)
            if events:
                await coll.update_one({"_id": doc_id}, {"$pullAll": {OUTBOX: events}})
        except BaseException:
            with contextlib.suppress(*TRANSIENT_ERRORS):  # the sweep tries again
                await self._mark(collection, doc_id)
            raise
        if self._writes.get(key) == writes:  # else a write came after the read: flush again
            self._unflushed.pop(key, None)
            self._writes.pop(key, None)
        return len(events)

    async def sweep(self) -> int:
        """Relay the marked documents a notification did not reach; returns events."""
        markers: list[Document] = await self._db[MARKERS].find().to_list(1000)
        metrics.OUTBOX_PENDING.labels(self._publisher.service).set(len(markers))
        relayed = 0
        for marker in markers:
            relayed += await self.flush(marker["collection"], marker["doc_id"])
        return relayed

    async def _mark(self, collection: str, doc_id: Any) -> None:
        marker = {"collection": collection, "doc_id": doc_id, "since": self._clock.now()}
        await self._db[MARKERS].update_one(
            {"_id": _marker_id(collection, doc_id)}, {"$setOnInsert": marker}, upsert=True
        )

    async def recover(self) -> int:
        """One pass over the outbox collections for what a crash left unmarked; returns events."""
        relayed = 0
        present = set(await self._db.list_collection_names())
        for collection in (name for name in self._collections if name in present):
            docs: list[Document] = (
                await self._db[collection].find(PENDING, {"_id": 1}).to_list(None)
            )
            for doc in docs:
                relayed += await self.flush(collection, doc["_id"])
        return relayed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop the loop, then relay what writes just before shutdown queued (bounded in time).

        What is left (an outage, or the time ran out) keeps its outbox entries: the marker
        sweep of another replica, or the next start's recovery, relays it.
        """
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(TimeoutError, *TRANSIENT_ERRORS):
            async with asyncio.timeout(drain_seconds):
                while self._unflushed:
                    for collection, doc_id in list(self._unflushed.values()):
                        await self.flush(collection, doc_id)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:  # the start-up pass first; it retries until the database answers
            if await self._recovered():
                break
            await asyncio.sleep(1.0)
        while True:
            try:
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self._sweep_seconds
                    await self.sweep()
                try:  # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                    async with asyncio.timeout(max(0.0, next_sweep - loop.time())):
                        collection, doc_id = await self._queue.get()
                except TimeoutError:
                    continue
                await self.flush(collection, doc_id)
            except TRANSIENT_ERRORS as exc:
                log.warning("outbox relay paused by an outage: %r", exc)
                await asyncio.sleep(1.0)
            except Exception:  # the marker stays, so the sweep retries
                log.exception("outbox relay failed; the next sweep retries")
                await asyncio.sleep(1.0)

    async def _recovered(self) -> bool:
        try:
            relayed = await self.recover()
        except TRANSIENT_ERRORS as exc:
            log.warning("outbox recovery waits for an outage to end: %r", exc)
            return False
        except Exception:  # nothing is removed before it is published: retrying is safe
            log.exception("outbox recovery failed; retrying")
            return False
        if relayed:
            log.info("relayed %d events left over from before the start", relayed)
        return True


def _key(collection: str, doc_id: Any) -> str:
    return f"{collection}:{doc_id}"


def _marker_id(collection: str, doc_id: Any) -> str:
    return f"{collection}|{doc_id}"
