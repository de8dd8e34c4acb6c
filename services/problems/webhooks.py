"""Signed webhooks: deficiency reports posted to the developers' bug tracker with retries, and
the signature check of what the tracker posts back.

A request is signed with HMAC-SHA256 over `<unix seconds>.<body>` and carries
`X-Switchboard-Signature: t=<unix seconds>,v1=<hex>`, the event type and the delivery id (the
receiver dedupes by it: delivery is at least once).

Storage, shaped by FerretDB v1 (every filter scans, even on `_id`; updates take no lock; the only
exclusive operation is inserting a unique `_id`):
- `webhook_deliveries`: the history, one document per delivery (`_id` = delivery id). Written
  twice: the keyed insert of `enqueue` (the idempotency key) and the final outcome.
- `webhook_pending`: the working copy of each delivery still to send, same shape. The loop reads
  only this small collection and never scans the history.
- `webhook_attempts`: `{_id: "<delivery id>#<n>", at}`, the claim of attempt n (see WebhookSender).
The payload is stored as its JSON text, so any JSON (nested arrays, keys with dots) fits.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, Field, JsonValue
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock
from shared.db import Database, Document

from . import metrics

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Switchboard-Signature"
EVENT_HEADER = "X-Switchboard-Event"
DELIVERY_HEADER = "X-Switchboard-Delivery"
DELIVERIES = "webhook_deliveries"
PENDING = "webhook_pending"
ATTEMPTS = "webhook_attempts"
RETRYABLE = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(hours=1)
"""A Retry-After is honoured up to this; a receiver cannot park a delivery for a year."""
EXCERPT = 200
KEEP_CLAIMS = timedelta(days=1)
PURGE_EVERY = timedelta(hours=1)

Status = Literal["pending", "delivered", "failed"]
Outcome = Literal["delivered", "retry", "failed"]


class BadSignature(Exception):
    """An incoming webhook whose signature header is missing, malformed, out of time or wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of `<timestamp>.` followed by the body."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """Accept a signed request or raise BadSignature; any of several `v1` values may match
    (a sender rotating its secret signs with both)."""
    if not header:
        raise BadSignature("missing signature header")
    timestamp, signatures = _parse(header)
    if abs(now - datetime.fromtimestamp(timestamp, UTC)) > tolerance:
        raise BadSignature("timestamp outside the tolerance")
    expected = sign(secret, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures):
        raise BadSignature("signature mismatch")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise BadSignature("malformed signature header")
        if key == "t":
            if not (value.isascii() and value.isdigit() and len(value) <= 11):
                raise BadSignature("malformed signature timestamp")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("malformed signature header")
    return timestamp, signatures


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


class WebhookSender:
    """Posts what is due, each attempt by one replica.

    Before attempt n a replica inserts the claim `<delivery id>#<n>` and posts only if the insert
    succeeded. A compare-and-set on the delivery itself would not do: FerretDB v1 applies
    updates without a lock, so two replicas could both win it; inserting a unique `_id` is
    exclusive on FerretDB and MongoDB alike. Only the holder of claim n writes the outcome of
    attempt n, so a replica that claims n+1 after reading `attempts == n` works on current
    data; claims are kept for a day, so an old read can never claim a posted attempt again.
    A claim older than twice the timeout with no outcome was left by a replica that died
    mid-attempt: it counts as a failed attempt and the next one is claimed. A crash between the
    POST and the record therefore posts again: receivers dedupe by X-Switchboard-Delivery.
    """

    def __init__(
        self,
        store: DeliveryStore,
        http: httpx.AsyncClient,
        secret: str,
        clock: Clock,
        *,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        timeout: float = 10.0,
        batch: int = 100,
        concurrency: int = 4,
    ) -> None:
        self._store = store
        self._http = http
        self._secret = secret
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = (backoff_base, backoff_cap)
        self._timeout = timeout
        self._batch = batch
        self._concurrency = concurrency

    async def send_due(self) -> int:
        """Try every due delivery once (up to a batch); returns how many were posted."""
        due = await self._store.due(self._clock.now(), self._batch)
        gate = asyncio.Semaphore(self._concurrency)

        async def one(delivery: Delivery) -> bool:
            async with gate:
                return await self._deliver(delivery)

        results = await asyncio.gather(*(one(d) for d in due), return_exceptions=True)
        posted = 0
        for delivery, result in zip(due, results, strict=True):
            if isinstance(result, Exception):  # its copy and claim stay: a later round retries
                log.error("webhook delivery %s not settled", delivery.id, exc_info=result)
            elif isinstance(result, BaseException):
                raise result
            else:
                posted += result
        return posted

    async def run(self, interval: float) -> None:
        """The delivery loop, for as long as the service runs; hourly it drops old claims."""
        recovered = False
        purged_at: datetime | None = None
        while True:
            try:
                if not recovered:
                    await self._store.recover()
                    recovered = True
                await self.send_due()
                now = self._clock.now()
                if purged_at is None or now - purged_at >= PURGE_EVERY:
                    await self._store.purge_claims(now - KEEP_CLAIMS)
                    purged_at = now
            except Exception:  # an outage: every pending delivery keeps its copy
                log.exception("webhook round failed")
            await asyncio.sleep(interval)

    async def _deliver(self, delivery: Delivery) -> bool:
        claimed = await self._claim(delivery)
        if claimed is None:
            return False
        if claimed.attempts >= self._max_attempts:  # interrupted attempts used them up
            await self._settle(claimed.model_copy(update={"status": "failed"}))
            return False
        await self._attempt(claimed)
        return True

    async def _claim(self, delivery: Delivery) -> Delivery | None:
        """The delivery with attempt `attempts + 1` claimed here; None if it is not ours."""
        attempt = delivery.attempts + 1
        stale = timedelta(seconds=2 * self._timeout)
        while not await self._store.claim_attempt(delivery.id, attempt, self._clock.now()):
            claimed_at = await self._store.claimed_at(delivery.id, attempt)
            if claimed_at is None or self._clock.now() - claimed_at < stale:
                return None  # another replica is posting it
            fresh = await self._store.get(delivery.id)
            if fresh is not None and fresh.status != "pending":
                await self._store.record(fresh)  # settled; a crash kept its pending copy
                return None
            if fresh is None or fresh.attempts >= attempt:
                return None  # our read was older than that attempt's outcome
            update = {"attempts": attempt, "last_error": "attempt interrupted"}
            delivery = fresh.model_copy(update=update)
            attempt += 1
        return delivery

    async def _attempt(self, delivery: Delivery) -> None:
        now = self._clock.now()
        tried = delivery.model_copy(update={"attempts": delivery.attempts + 1})
        body = delivery.body()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(self._secret, int(now.timestamp()), body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
        }
        try:
            response = await self._http.post(
                delivery.url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            error = f"bad URL: {exc}"[:EXCERPT]
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))
            return
        except httpx.TransportError as exc:  # refused, reset, timed out
            await self._retry(tried, f"{type(exc).__name__}: {exc}"[:EXCERPT], None)
            return
        outcome = outcome_of(response.status_code)
        error = f"HTTP {response.status_code}: {response.text[:EXCERPT]}"
        if outcome == "delivered":
            done = {"status": "delivered", "delivered_at": now, "last_error": None}
            await self._settle(tried.model_copy(update=done))
        elif outcome == "retry":
            await self._retry(tried, error, retry_after(response.headers.get("Retry-After"), now))
        else:
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))

    async def _retry(self, tried: Delivery, error: str, hint: timedelta | None) -> None:
        if tried.attempts >= self._max_attempts:
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))
            return
        wait = max(backoff(tried.attempts, *self._backoff), hint or timedelta(0))
        at = self._clock.now() + wait
        await self._store.record(
            tried.model_copy(update={"next_attempt_at": at, "last_error": error})
        )
        metrics.WEBHOOK_DELIVERIES.labels("retried").inc()

    async def _settle(self, delivery: Delivery) -> None:
        await self._store.record(delivery)
        metrics.WEBHOOK_DELIVERIES.labels(delivery.status).inc()
        if delivery.status == "failed":
            log.warning(
                "webhook %s to %s failed after %d attempts: %s",
                delivery.id,
                delivery.url,
                delivery.attempts,
                delivery.last_error,
            )
