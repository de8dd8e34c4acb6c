"""Deliveries: what is to be posted where, and how it ended; their store, and how an answer
is read (retry, give up, done).

Two collections:
- `webhook_queue`: the deliveries still to send, one item each (shared.deliveries): each
  attempt is leased to one replica by `find_one_and_update`, a replica that dies mid-attempt
  is taken over when the lease runs out, and only the holder of attempt n retries or settles.
- `webhook_deliveries`: the history, one record per delivery (`_id` = delivery id), the
  idempotency key of `enqueue` and what `get` shows: its attempts and next try while pending,
  then the outcome, written before the item leaves the queue.
The payload is stored as its JSON text, so any JSON (nested arrays, keys with dots) fits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, JsonValue
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec
from shared.deliveries import Attempt, DeliveryQueue, RetryPolicy
from shared.deliveries import backoff as backoff
from shared.records import BadRecord, load_one

from ..metrics import SERVICE

DELIVERIES = "webhook_deliveries"
QUEUE = "webhook_queue"
QUEUE_INDEXES: list[IndexSpec] = [(QUEUE, [("due_at", ASCENDING)], False)]
"""What DeliveryQueue.indexes() declares for the queue (checked by a unit test)."""
RETRYABLE = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(hours=1)
"""A Retry-After is honoured up to this; a receiver cannot park a delivery for a year."""
DEFAULT_POLICY = RetryPolicy(
    max_attempts=8, backoff_base=2.0, backoff_cap=600.0, lease=timedelta(seconds=20)
)

Status = Literal["pending", "delivered", "failed"]
Outcome = Literal["delivered", "retry", "failed"]


def outcome_of(status_code: int) -> Outcome:
    """2xx delivered; 408, 429 and 5xx worth another try; any other answer is a rejection."""
    if 200 <= status_code < 300:
        return "delivered"
    if status_code >= 500 or status_code in RETRYABLE:
        return "retry"
    return "failed"


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a wait, within [0, MAX_RETRY_AFTER]."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        wait = MAX_RETRY_AFTER if len(value) > 9 else timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


class Delivery(BaseModel):
    """One event to post to one URL; the id is chosen by the caller and makes enqueue idempotent
    (e.g. `<report id>:<event>:<revision>`)."""

    id: str = Field(min_length=1, description="delivery id, sent as X-Switchboard-Delivery")
    url: str = Field(description="where the webhook is posted")
    event: str = Field(description="event type, e.g. deficiency_report.opened")
    payload: dict[str, JsonValue] = Field(description="the JSON body")
    attempts: int = Field(default=0, description="attempts made (interrupted ones included)")
    next_attempt_at: datetime
    status: Status = "pending"
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None

    @classmethod
    def new(
        cls, id: str, url: str, event: str, payload: dict[str, JsonValue], now: datetime
    ) -> Delivery:
        return cls(
            id=id, url=url, event=event, payload=payload, next_attempt_at=now, created_at=now
        )

    def body(self) -> bytes:
        """Compact JSON with sorted keys: the same bytes on every attempt and every replica."""
        text = json.dumps(self.payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        return text.encode()


@dataclass(frozen=True)
class Taken:
    """An attempt leased to this replica, and its delivery with the attempt counted."""

    attempt: Attempt
    delivery: Delivery


class DeliveryStore(Protocol):
    def with_policy(self, policy: RetryPolicy) -> DeliveryStore: ...
    async def enqueue(self, delivery: Delivery) -> bool: ...
    async def take(self, now: datetime) -> Taken | None: ...
    async def retry(self, taken: Taken, now: datetime, error: str, wait: timedelta) -> bool: ...
    async def settle(self, taken: Taken, outcome: Delivery) -> None: ...
    async def get(self, delivery_id: str) -> Delivery | None: ...


class MongoDeliveryStore:
    def __init__(self, db: Database, policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._db = db
        self._history = db[DELIVERIES]
        self.queue = DeliveryQueue(db, QUEUE, policy)

    def with_policy(self, policy: RetryPolicy) -> MongoDeliveryStore:
        """The same deliveries, tried with these attempts, waits and lease."""
        return MongoDeliveryStore(self._db, policy)

    async def enqueue(self, delivery: Delivery) -> bool:
        """Queue a delivery once; False when its id is known already (queued or settled).

        The queue item goes first: a crash before the history is written leaves an item
        whose first attempt writes the history from it (`take`)."""
        if await self._history.find_one({"_id": delivery.id}, {"_id": 1}) is not None:
            return False
        fields = {k: v for k, v in _to_doc(delivery).items() if k in _QUEUED}
        queued = await self.queue.enqueue(delivery.id, fields, delivery.next_attempt_at)
        await _insert_new(self._history, _to_doc(delivery))
        return queued

    async def take(self, now: datetime) -> Taken | None:
        """Lease the next due attempt; None when nothing is due. A delivery whose outcome
        was written by a holder stopped before `done` leaves the queue unsent."""
        while (attempt := await self.queue.take(now)) is not None:
            stored = await self._history.find_one({"_id": attempt.id})
            if stored is None:  # its enqueue stopped between the queue and the history
                stored = {**_new_record(attempt), "_id": attempt.id}
                if not await _insert_new(self._history, stored):
                    stored = await self._history.find_one({"_id": attempt.id}) or stored
            if stored.get("status", "pending") != "pending":
                await self.queue.done(attempt)
                continue
            try:
                delivery = _from_doc(stored)
            except BadRecord:  # logged and counted; its lease runs out, then it is seen again
                continue
            counted = {"attempts": attempt.number, "last_error": attempt.last_error}
            return Taken(attempt, delivery.model_copy(update=counted))
        return None

    async def retry(self, taken: Taken, now: datetime, error: str, wait: timedelta) -> bool:
        """Try again after `wait`; False when this replica's lease was lost (or that was the
        last try). The history shows the attempt and the next try."""
        if not await self.queue.retry(taken.attempt, now, error, wait=wait):
            return False
        progress = {"attempts": taken.attempt.number, "next_attempt_at": now + wait}
        await self._history.update_one(
            {"_id": taken.attempt.id, "status": "pending"},
            {"$set": {**progress, "last_error": error}},
        )
        return True

    async def settle(self, taken: Taken, outcome: Delivery) -> None:
        """The outcome goes to the history (the first one written stays), then the delivery
        leaves the queue; a crash in between is finished by the next `take`."""
        fields = ("status", "attempts", "last_error", "delivered_at", "next_attempt_at")
        await self._history.update_one(
            {"_id": outcome.id, "status": "pending"},
            {"$set": outcome.model_dump(include=set(fields))},
        )
        await self.queue.done(taken.attempt)

    async def get(self, delivery_id: str) -> Delivery | None:
        """The delivery's record; BadRecord when it does not load."""
        stored = await self._history.find_one({"_id": delivery_id})
        return _from_doc(stored) if stored else None


_QUEUED = frozenset({"url", "event", "payload_json", "created_at"})


def _to_doc(delivery: Delivery) -> Document:
    doc = delivery.model_dump(exclude={"payload"})
    return {"_id": delivery.id, **doc, "payload_json": json.dumps(delivery.payload)}


def _from_doc(doc: Document) -> Delivery:
    """The delivery, or BadRecord (logged and counted) when its record does not load."""
    fields = {k: v for k, v in doc.items() if k != "payload_json"}
    return load_one(Delivery, {**fields, "payload": _payload(doc)}, DELIVERIES, SERVICE)


def _payload(doc: Document) -> Any:
    """The payload kept as JSON text; None (which no delivery accepts) when it is not."""
    text = doc.get("payload_json")
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _new_record(attempt: Attempt) -> Document:
    """The history record of a queued delivery, from what was queued with it."""
    queued = {k: v for k, v in attempt.fields.items() if k in _QUEUED}
    return {
        "id": attempt.id,
        **queued,
        "attempts": 0,
        "next_attempt_at": queued["created_at"],
        "status": "pending",
        "last_error": None,
        "delivered_at": None,
    }


async def _insert_new(collection: AsyncCollection[Document], doc: Document) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
