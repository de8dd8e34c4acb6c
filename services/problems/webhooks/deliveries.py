"""Deliveries: what is to be posted where, when it is tried next, and how it ended; their
store, and how an answer is read (retry, give up, done)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field, JsonValue
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document

DELIVERIES = "webhook_deliveries"
PENDING = "webhook_pending"
ATTEMPTS = "webhook_attempts"
RETRYABLE = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(hours=1)
"""A Retry-After is honoured up to this; a receiver cannot park a delivery for a year."""

Status = Literal["pending", "delivered", "failed"]
Outcome = Literal["delivered", "retry", "failed"]


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """The wait after failed attempt `attempt` (from 1): base, 2·base, 4·base, ... at most cap."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return timedelta(seconds=min(cap, base * 2.0 ** min(attempt - 1, 64)))


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


def _to_doc(delivery: Delivery) -> Document:
    doc = delivery.model_dump(exclude={"payload"})
    return {"_id": delivery.id, **doc, "payload_json": json.dumps(delivery.payload)}


def _from_doc(doc: Document) -> Delivery:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "payload_json")}
    return Delivery.model_validate({**fields, "payload": json.loads(doc["payload_json"])})


class DeliveryStore(Protocol):
    async def enqueue(self, delivery: Delivery) -> bool: ...
    async def due(self, now: datetime, limit: int) -> list[Delivery]: ...
    async def record(self, delivery: Delivery) -> None: ...
    async def get(self, delivery_id: str) -> Delivery | None: ...
    async def claim_attempt(self, delivery_id: str, attempt: int, now: datetime) -> bool: ...
    async def claimed_at(self, delivery_id: str, attempt: int) -> datetime | None: ...
    async def recover(self) -> int: ...
    async def purge_claims(self, before: datetime) -> int: ...


class MongoDeliveryStore:
    def __init__(self, db: Database) -> None:
        self._history = db[DELIVERIES]
        self._pending = db[PENDING]
        self._claims = db[ATTEMPTS]

    async def enqueue(self, delivery: Delivery) -> bool:
        """Keyed insert into the history, then the working copy; False if the id exists.

        A repeat of an enqueue that crashed between the two inserts restores the working copy.
        """
        doc = _to_doc(delivery)
        if await _insert_new(self._history, doc):
            await _insert_new(self._pending, doc)
            return True
        stored = await self._history.find_one({"_id": delivery.id})
        if stored is not None and stored["status"] == "pending":
            await _insert_new(self._pending, stored)
        return False

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        docs = (
            await self._pending.find({"next_attempt_at": {"$lte": now}})
            .sort("next_attempt_at", 1)
            .to_list(limit)
        )
        return [_from_doc(doc) for doc in docs]

    async def record(self, delivery: Delivery) -> None:
        """Save an attempt's outcome. A settled delivery goes to the history first, then leaves
        the pending copies: a crash in between leaves a copy whose next claim is taken."""
        doc = _to_doc(delivery)
        if delivery.status == "pending":
            await self._pending.replace_one({"_id": delivery.id}, doc)
            return
        await self._history.replace_one({"_id": delivery.id}, doc)
        await self._pending.delete_one({"_id": delivery.id})

    async def get(self, delivery_id: str) -> Delivery | None:
        """The settled record, else the working copy (the history holds the enqueued state)."""
        stored = await self._history.find_one({"_id": delivery_id})
        if stored is None or stored["status"] != "pending":
            return _from_doc(stored) if stored else None
        working = await self._pending.find_one({"_id": delivery_id})
        return _from_doc(working or stored)

    async def claim_attempt(self, delivery_id: str, attempt: int, now: datetime) -> bool:
        return await _insert_new(self._claims, {"_id": f"{delivery_id}#{attempt}", "at": now})

    async def claimed_at(self, delivery_id: str, attempt: int) -> datetime | None:
        doc = await self._claims.find_one({"_id": f"{delivery_id}#{attempt}"})
        return doc["at"] if doc else None

    async def recover(self) -> int:
        """One pass over the history at start-up for deliveries an enqueue left without a
        working copy; returns how many it restored."""
        restored = 0
        async for doc in self._history.find({"status": "pending"}):
            restored += await _insert_new(self._pending, doc)
        return restored

    async def purge_claims(self, before: datetime) -> int:
        """Claims only need to outlive the reads of the delivery they guard; returns removed."""
        return (await self._claims.delete_many({"at": {"$lt": before}})).deleted_count


async def _insert_new(collection: AsyncCollection[Document], doc: Document) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
