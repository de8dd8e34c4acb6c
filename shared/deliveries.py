"""Outbound deliveries (intake's mail, problems' webhooks, reporting's report mail): what is still
to be delivered, each attempt leased to one replica, retried with backoff, then settled.

The queue collection holds only the live set, one item per pending delivery: it stays small, so
finding what is due is cheap on any store (and indexed on MongoDB). An attempt is taken by
`find_one_and_update`, which moves the item's due time one lease ahead and counts the attempt:
of many replicas exactly one gets it, and if that replica dies mid-attempt the item is due again
when the lease runs out, the interrupted attempt counted. Only the holder of attempt n may retry
or settle it (a compare-and-set on the attempt count), so a replica whose lease ran out cannot
undo what the next holder did.

The caller keeps its own record of the delivery (a notification, a webhook's history, a
generated report) and its events; it settles that record first, then calls `done`. A crash in
between hands the attempt out again, and the caller, finding its record settled, calls `done`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from .db import Database, Document, IndexSpec


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """The wait after failed attempt `attempt` (from 1): base, 2·base, 4·base, ... at most cap."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return timedelta(seconds=min(cap, base * 2.0 ** min(attempt - 1, 64)))


@dataclass(frozen=True)
class Attempt:
    id: str
    number: int
    """This attempt's number, from 1; interrupted attempts count."""
    fields: Document
    """What the caller enqueued with the item."""
    last_error: str | None
    exhausted: bool
    """Interrupted attempts used up every try: settle it as failed without trying."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    lease: timedelta
    """How long one attempt may take before another replica may take it over."""


class DeliveryQueue:
    def __init__(self, db: Database, collection: str, policy: RetryPolicy) -> None:
        self._items = db[collection]
        self.collection = collection
        self.policy = policy

    def indexes(self) -> list[IndexSpec]:
        return [(self.collection, [("due_at", ASCENDING)], False)]

    async def enqueue(self, item_id: str, fields: Document, due_at: datetime) -> bool:
        """Queue a delivery once; False when the id is queued already."""
        doc = {"_id": item_id, **fields, "attempts": 0, "due_at": due_at, "last_error": None}
        try:
            await self._items.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def take(self, now: datetime, skip: Collection[str] = ()) -> Attempt | None:
        """Lease the next due delivery's next attempt to this replica; None when none is due.
        `skip`: ids this round has tried already (a retry may be due again at once)."""
        query: Document = {"due_at": {"$lte": now}}
        if skip:
            query["_id"] = {"$nin": list(skip)}
        doc = await self._items.find_one_and_update(
            query,
            {"$inc": {"attempts": 1}, "$set": {"due_at": now + self.policy.lease}},
            sort=[("due_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        number = int(doc["attempts"])
        fields = {k: v for k, v in doc.items() if k not in _OWN}
        return Attempt(
            id=str(doc["_id"]),
            number=number,
            fields=fields,
            last_error=doc.get("last_error"),
            exhausted=number > self.policy.max_attempts,
        )

    async def retry(
        self, attempt: Attempt, now: datetime, error: str, wait: timedelta | None = None
    ) -> bool:
        """Try again later (after `wait`, else the backoff); False when that was the last try
        (or the lease was lost): settle it as failed, or leave it to its new holder."""
        if attempt.number >= self.policy.max_attempts:
            return False
        pause = wait if wait is not None else self._backoff(attempt.number)
        done = await self._items.update_one(
            {"_id": attempt.id, "attempts": attempt.number},
            {"$set": {"due_at": now + pause, "last_error": error[:500]}},
        )
        return done.matched_count == 1

    async def done(self, attempt: Attempt) -> None:
        """The delivery is settled (delivered or failed for good): it leaves the queue."""
        await self._items.delete_one({"_id": attempt.id, "attempts": attempt.number})

    async def drop(self, item_id: str) -> None:
        """Withdraw a delivery whatever its attempts (its record was settled some other way)."""
        await self._items.delete_one({"_id": item_id})

    async def pending(self) -> int:
        return int(await self._items.count_documents({}))

    async def next_due(self) -> datetime | None:
        doc = await self._items.find_one({}, sort=[("due_at", ASCENDING)])
        return doc["due_at"] if doc else None

    def _backoff(self, attempt: int) -> timedelta:
        return backoff(attempt, self.policy.backoff_base, self.policy.backoff_cap)


_OWN = frozenset({"_id", "attempts", "due_at", "last_error"})
