"""The in-document outbox: events are written with the state they describe, then relayed.

A use case saves its document with the new events appended to its `outbox` array in the same write.
The relay publishes a document's events in order, then removes exactly those. A crash between the
write and the publish loses nothing (the periodic sweep finds the document); a crash between the
publish and the removal publishes again, which consumers absorb by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from . import metrics
from .bus import TRANSIENT_ERRORS, EventPublisher
from .db import Database, Document
from .events import Event
from .locks import KeyedLocks, doc_key

log = logging.getLogger(__name__)

OUTBOX = "outbox"
PENDING = {"outbox.0": {"$exists": True}}


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
        locks: KeyedLocks,
        collections: Sequence[str],
        sweep_seconds: float,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._locks = locks
        self._collections = tuple(collections)
        self._sweep_seconds = sweep_seconds
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def notify(self, collection: str, doc_id: Any) -> None:
        """A document has new outbox events: relay them now instead of at the next sweep."""
        self._queue.put_nowait((collection, doc_id))

    async def flush(self, collection: str, doc_id: Any) -> int:
        """Publish and remove the pending events of one document; returns how many."""
        coll = self._db[collection]
        async with self._locks.hold(doc_key(collection, doc_id)):
            doc = await coll.find_one({"_id": doc_id})
            events: list[dict[str, Any]] = (doc or {}).get(OUTBOX) or []
            for event in events:
                await self._publisher.publish(event)
            if events:
                await coll.update_one({"_id": doc_id}, {"$pullAll": {OUTBOX: events}})
        return len(events)

    async def sweep(self) -> int:
        """Relay what a crash or a lost notification left behind; returns events relayed."""
        relayed = 0
        pending_docs = 0
        for collection in self._collections:
            docs: list[Document] = await self._db[collection].find(PENDING, {"_id": 1}).to_list(500)
            pending_docs += len(docs)
            for doc in docs:
                relayed += await self.flush(collection, doc["_id"])
        metrics.OUTBOX_PENDING.labels(self._publisher.service).set(pending_docs)
        return relayed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while True:
            try:
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + self._sweep_seconds
                    await self.sweep()
                try:
                    collection, doc_id = await asyncio.wait_for(
                        self._queue.get(), timeout=max(0.0, next_sweep - loop.time())
                    )
                except TimeoutError:
                    continue
                await self.flush(collection, doc_id)
            except TRANSIENT_ERRORS as exc:
                log.warning("outbox relay paused by an outage: %r", exc)
                await asyncio.sleep(1.0)
            except Exception:  # the sweep retries whatever stayed in the outbox
                log.exception("outbox relay failed; the next sweep retries")
                await asyncio.sleep(1.0)
