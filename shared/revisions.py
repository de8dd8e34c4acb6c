"""Documents changed by numbered revisions, for state that several writers touch (a consumer,
an API call, a scheduler, on any replica).

FerretDB v1 applies updates without a lock, so a change is claimed by a keyed insert of the new
state and its events into `<collection>_revisions` ("<id>#<n>"); the document is then brought
up to it. Of two writers deciding from the same revision only one claim succeeds: the other
reads again and decides again. The events travel in the document's outbox (shared/outbox.py).

A writer that dies between claim and write leaves the claim unapplied. Reads do not look for
that (FerretDB answers "no such key" only by scanning the collection); the next writer finds
the claim in its way and applies it before deciding again, and `recover` applies what is left
when a service starts.

With `parts` > 1 the documents and their claims are split into that many collections by a
hash of the id (shared.db.partition_of), which bounds FerretDB's _id scans; the outbox relay
and `rewrite` then take the document's own collection, `collection_of(id)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo.errors import DuplicateKeyError

from .db import Database, Document, existing, partition_names, partition_of
from .errors import Conflict
from .events import Event
from .outbox import OUTBOX, OutboxRelay, serialise

M = TypeVar("M", bound=BaseModel)
CLAIMS_KEPT = timedelta(days=1)


class Revisioned(Generic[M]):
    def __init__(
        self,
        db: Database,
        collection: str,
        model: type[M],
        encode: Callable[[Document], Document] = lambda d: d,
        decode: Callable[[Document], Document] = lambda d: d,
        parts: int = 1,
    ) -> None:
        self._db = db
        self._collection = collection
        self._parts = parts
        self._model = model
        self._encode = encode
        self._decode = decode

    def collection_of(self, doc_id: str) -> str:
        return partition_of(self._collection, doc_id, self._parts)

    def collections(self) -> list[str]:
        return partition_names(self._collection, self._parts)

    def _docs(self, doc_id: str) -> Any:
        return self._db[self.collection_of(doc_id)]

    def _revisions(self, doc_id: str) -> Any:
        return self._db[f"{self.collection_of(doc_id)}_revisions"]

    async def insert(self, doc_id: str, state: M, events: Sequence[Event[Any]]) -> bool:
        """The first revision; False when the document exists already."""
        doc = {"_id": doc_id, **self._state(state, 0), OUTBOX: serialise(events)}
        try:
            await self._docs(doc_id).insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, doc_id: str) -> M | None:
        doc = await self._docs(doc_id).find_one({"_id": doc_id})
        return self._model.model_validate(self._decode(doc)) if doc is not None else None

    async def save(
        self, doc_id: str, revision: int, after: M, events: Sequence[Event[Any]]
    ) -> bool:
        """Claim revision + 1 with this state; False when another writer claimed it first."""
        change: Document = {
            "_id": f"{doc_id}#{revision + 1}",
            "state": self._state(after, revision + 1),
            "events": serialise(events),
            "at": datetime.now(UTC),  # for purge: the claim's age, not a domain time
        }
        try:
            await self._revisions(doc_id).insert_one(change)
        except DuplicateKeyError:
            claimed = await self._revisions(doc_id).find_one({"_id": change["_id"]})
            if claimed is not None:  # applied already, or left by a writer that died
                await self._apply(doc_id, claimed, revision)
            return False
        await self._apply(doc_id, change, revision)
        return True

    async def recover(self) -> int:
        """Apply the claims a writer left unapplied (one pass over the claims, at start)."""
        latest: dict[str, int] = {}
        claimed = [f"{name}_revisions" for name in self.collections()]
        for name in await existing(self._db, claimed):
            claims = self._db[name].find({}, {"_id": 1})
            for claim in await claims.to_list(None):
                doc_id, _, number = str(claim["_id"]).rpartition("#")
                latest[doc_id] = max(latest.get(doc_id, 0), int(number))
        applied = 0
        for doc_id, newest in latest.items():
            doc = await self._docs(doc_id).find_one({"_id": doc_id}, {"revision": 1})
            revision = int(doc.get("revision") or 0) if doc else newest
            while revision < newest:
                pending = await self._revisions(doc_id).find_one(
                    {"_id": f"{doc_id}#{revision + 1}"}
                )
                if pending is None:
                    break
                await self._apply(doc_id, pending, revision)
                revision += 1
                applied += 1
        return applied

    async def purge(self, older_than: timedelta = CLAIMS_KEPT) -> int:
        """Drop the claims older than `older_than` (wall-clock time, now and then): a claim
        only matters to a writer deciding from the revision before it, which takes
        milliseconds, and to `recover` after a crash. Without this they grow with every change."""
        before = datetime.now(UTC) - older_than
        dropped = 0
        claimed = [f"{name}_revisions" for name in self.collections()]
        for name in await existing(self._db, claimed):
            dropped += (await self._db[name].delete_many({"at": {"$lt": before}})).deleted_count
        return dropped

    def _state(self, state: M, revision: int) -> Document:
        dumped = state.model_dump(mode="python")
        dumped["revision"] = revision
        return self._encode(dumped)

    async def _apply(self, doc_id: str, change: Document, revision: int) -> None:
        """Bring the document from `revision` to the change's state; a no-op once done.

        The revision is compared here, not in the update's filter: FerretDB pushes only a
        filter of the bare _id down to SQLite and reads every document of the collection for
        any other. Two
        appliers racing may push the change's events twice (consumers skip repeated event
        ids) or, rarely, write an older state over a newer one, which the next read rolls
        forward again from the claims.
        """
        docs = self._docs(doc_id)
        doc = await docs.find_one({"_id": doc_id}, {"revision": 1})
        if doc is None or int(doc.get("revision") or 0) != revision:
            return
        await docs.update_one(
            {"_id": doc_id},
            {"$set": change["state"], "$push": {OUTBOX: {"$each": change["events"]}}},
        )


MAX_WRITE_ATTEMPTS = 5


async def rewrite(
    relay: OutboxRelay,
    collection: str,
    doc_id: str,
    read: Callable[[], Awaitable[M | None]],
    decide: Callable[[M], Awaitable[tuple[M, list[Event[Any]]] | None]],
    save: Callable[[M, M, list[Event[Any]]], Awaitable[bool]],
) -> tuple[M, M] | None:
    """Read, decide, claim the next revision; read and decide again when another writer came
    first. Returns (before, after), after being before when nothing was to change; None when
    there is no such document."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        async with relay.writing(collection, doc_id):
            before = await read()
            if before is None:
                return None
            decided = await decide(before)
            if decided is None:
                return before, before
            after, events = decided
            if await save(before, after, events):
                return before, after
    raise Conflict(f"{collection} {doc_id} kept changing; try again")
