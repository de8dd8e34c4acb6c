"""Outgoing webhooks on the real FerretDB, posted to a real HTTP receiver on loopback: signed,
retried with growing waits, settled, each attempt leased to one replica."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.problems.webhooks import (
    DELIVERIES,
    DELIVERY_HEADER,
    EVENT_HEADER,
    QUEUE,
    SIGNATURE_HEADER,
    BadSignature,
    Delivery,
    MongoDeliveryStore,
    WebhookSender,
    verify,
)
from shared.clock import FixedClock
from shared.db import Database
from tests.helpers import Isolation

pytestmark = pytest.mark.integration
SECRET = "whsec-" + uuid.uuid4().hex
START = datetime(2031, 5, 6, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def signed_at(self) -> int:
        return int((self.header(SIGNATURE_HEADER) or "").split(",")[0].removeprefix("t="))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closed its end: nothing to report


class Receiver:
    """A real HTTP server on 127.0.0.1: keeps each request, answers what a test scripted."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[Received] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, *replies: Reply) -> None:
        """The next answers, in order; after them, 200."""
        with self._lock:
            self._script.extend(replies)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            return self._script.pop(0) if self._script else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = receiver._next(Received(self.path, headers, body))
                time.sleep(reply.delay)
                content = reply.body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True, uuidRepresentation="standard"
    )
    try:
        yield client[f"{isolated.db_prefix}problems"]
    finally:
        await client.close()


@asynccontextmanager
async def sending(
    store: MongoDeliveryStore, clock: FixedClock, secret: str = SECRET, **options: Any
) -> AsyncIterator[WebhookSender]:
    async with httpx.AsyncClient(trust_env=False) as http:
        yield WebhookSender(store, http, secret, clock, **options)


def report(delivery_id: str, url: str, now: datetime = START) -> Delivery:
    payload: dict[str, Any] = {
        "id": "DR-000042",
        "title": "Export drops rows with a comma",
        "products": ["exporter"],
        "steps": [["open", "export"], ["save"]],  # nested arrays: stored as JSON text
        "fields.with.dots": {"$odd": 1},
    }
    return Delivery.new(delivery_id, url, "deficiency_report.opened", payload, now)


def counted(outcome: str) -> float:
    labels = {"outcome": outcome}
    return REGISTRY.get_sample_value("helpdesk_webhook_deliveries_total", labels) or 0.0


async def stored(store: MongoDeliveryStore, delivery_id: str) -> Delivery:
    found = await store.get(delivery_id)
    assert found is not None
    return found


async def test_a_delivery_is_posted_once_signed_and_marked_delivered(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    delivery = report("DR-000042:opened:1", receiver.url)
    delivered_before = counted("delivered")
    assert await store.enqueue(delivery)
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        assert await sender.send_due() == 0
    (request,) = receiver.received
    verify(SECRET, request.header(SIGNATURE_HEADER), request.body, clock.now())
    assert request.header(EVENT_HEADER) == "deficiency_report.opened"
    assert request.header(DELIVERY_HEADER) == "DR-000042:opened:1"
    assert request.header("Content-Type") == "application/json"
    assert request.body == delivery.body() and json.loads(request.body) == delivery.payload
    done = await stored(store, delivery.id)
    assert (done.status, done.attempts, done.delivered_at) == ("delivered", 1, START)
    assert done.payload == delivery.payload
    assert await db[QUEUE].count_documents({}) == 0
    assert counted("delivered") == delivered_before + 1


async def test_without_a_secret_a_delivery_is_posted_unsigned_never_signed_with_no_key(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    assert await store.enqueue(report("DR-000043:opened:1", receiver.url))
    async with sending(store, clock, secret="") as sender:
        assert await sender.send_due() == 1
    (request,) = receiver.received
    assert request.header(SIGNATURE_HEADER) is None
    assert request.header(DELIVERY_HEADER) == "DR-000043:opened:1"


async def test_verify_rejects_what_the_secret_did_not_sign_or_is_stale(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    await store.enqueue(report("DR-1:opened", receiver.url))
    async with sending(store, clock) as sender:
        await sender.send_due()
    (request,) = receiver.received
    header = request.header(SIGNATURE_HEADER)
    cases = [
        ("wrong-secret", header, request.body, START, "signature mismatch"),
        (SECRET, header, request.body + b" ", START, "signature mismatch"),
        (SECRET, header, request.body, START + timedelta(minutes=6), "timestamp outside"),
        (SECRET, None, request.body, START, "missing signature header"),
    ]
    for secret, given, body, now, reason in cases:
        with pytest.raises(BadSignature, match=reason):
            verify(secret, given, body, now)


async def test_server_errors_are_retried_with_growing_waits_until_delivered(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    receiver.answer(Reply(500, "boom"), Reply(500, "boom"))
    await store.enqueue(report("DR-2:opened", receiver.url))
    retried_before = counted("retried")
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        waiting = await stored(store, "DR-2:opened")
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert waiting.next_attempt_at == START + timedelta(seconds=2)
        assert waiting.last_error == "HTTP 500: boom"
        assert await sender.send_due() == 0  # not due yet
        clock.advance(timedelta(seconds=2))
        assert await sender.send_due() == 1
        clock.advance(timedelta(seconds=3))
        assert await sender.send_due() == 0
        clock.advance(timedelta(seconds=1))
        assert await sender.send_due() == 1
    times = [r.signed_at for r in receiver.received]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [2, 4]
    done = await stored(store, "DR-2:opened")
    assert (done.status, done.attempts, done.last_error) == ("delivered", 3, None)
    assert counted("retried") == retried_before + 2


async def test_a_rejection_fails_at_once_and_keeps_the_reason(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    receiver.answer(Reply(400, "unknown project 'ZZ'" + "x" * 1000))
    await store.enqueue(report("DR-3:opened", receiver.url))
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        clock.advance(timedelta(hours=1))
        assert await sender.send_due() == 0
    failed = await stored(store, "DR-3:opened")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None
    assert failed.last_error.startswith("HTTP 400: unknown project 'ZZ'")
    assert len(failed.last_error) < 300
    assert len(receiver.received) == 1


async def test_a_refused_connection_is_retried_until_the_receiver_listens(db: Database) -> None:
    with socket.socket() as probe:  # a free port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    await store.enqueue(report("DR-4:opened", f"http://127.0.0.1:{port}/hooks"))
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        refused = await stored(store, "DR-4:opened")
        assert refused.status == "pending" and refused.attempts == 1
        assert refused.last_error is not None and refused.last_error.startswith("ConnectError")
        receiver = Receiver(port)
        try:
            clock.advance(timedelta(seconds=2))
            assert await sender.send_due() == 1
        finally:
            receiver.stop()
    assert len(receiver.received) == 1
    done = await stored(store, "DR-4:opened")
    assert (done.status, done.attempts) == ("delivered", 2)


async def test_a_timeout_is_retried(db: Database, receiver: Receiver) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    receiver.answer(Reply(200, delay=1.0))
    await store.enqueue(report("DR-5:opened", receiver.url))
    async with sending(store, clock, timeout=0.2) as sender:
        assert await sender.send_due() == 1
        slow = await stored(store, "DR-5:opened")
        assert slow.status == "pending" and (slow.last_error or "").startswith("ReadTimeout")
        clock.advance(timedelta(seconds=2))
        assert await sender.send_due() == 1
    assert (await stored(store, "DR-5:opened")).status == "delivered"


async def test_retry_after_is_respected(db: Database, receiver: Receiver) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    receiver.answer(Reply(429, "slow down", {"Retry-After": "30"}))
    await store.enqueue(report("DR-6:opened", receiver.url))
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        assert (await stored(store, "DR-6:opened")).next_attempt_at == START + timedelta(seconds=30)
        clock.advance(timedelta(seconds=29))
        assert await sender.send_due() == 0
        clock.advance(timedelta(seconds=1))
        assert await sender.send_due() == 1
    assert (await stored(store, "DR-6:opened")).status == "delivered"


async def test_a_delivery_fails_after_the_last_attempt(db: Database, receiver: Receiver) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    receiver.answer(*[Reply(503, "down")] * 5)
    await store.enqueue(report("DR-7:opened", receiver.url))
    failed_before = counted("failed")
    async with sending(store, clock, max_attempts=3) as sender:
        for _ in range(5):
            await sender.send_due()
            clock.advance(timedelta(minutes=10))
    failed = await stored(store, "DR-7:opened")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "HTTP 503: down")
    assert len(receiver.received) == 3
    assert await db[QUEUE].count_documents({}) == 0
    assert counted("failed") == failed_before + 1


async def test_enqueueing_the_same_delivery_twice_posts_it_once(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    assert await store.enqueue(report("DR-8:opened", receiver.url))
    assert not await store.enqueue(report("DR-8:opened", receiver.url))
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
        assert not await store.enqueue(report("DR-8:opened", receiver.url))  # a replayed event
        clock.advance(timedelta(hours=1))
        assert await sender.send_due() == 0
    assert [r.header(DELIVERY_HEADER) for r in receiver.received] == ["DR-8:opened"]


async def test_an_enqueue_cut_short_before_its_history_is_recorded_by_the_first_attempt(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    await store.enqueue(report("DR-9:opened", receiver.url))
    await db[DELIVERIES].delete_many({})  # as if it crashed after queueing the delivery
    assert await store.get("DR-9:opened") is None
    async with sending(store, clock) as sender:
        assert await sender.send_due() == 1
    done = await stored(store, "DR-9:opened")
    assert (done.status, done.attempts, done.url) == ("delivered", 1, receiver.url)
    assert done.payload == report("DR-9:opened", receiver.url).payload
    assert not await store.enqueue(report("DR-9:opened", receiver.url))
    assert [r.header(DELIVERY_HEADER) for r in receiver.received] == ["DR-9:opened"]


async def test_a_delivery_settled_by_a_replica_that_stopped_before_done_is_not_posted_again(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    await store.enqueue(report("DR-10:opened", receiver.url))
    async with sending(store, clock, timeout=10) as sender:
        lost = await store.with_policy(sender.policy).take(START)
        assert lost is not None  # posted, its outcome written, then that replica stopped
        await db[DELIVERIES].update_one(
            {"_id": "DR-10:opened"}, {"$set": {"status": "delivered", "delivered_at": START}}
        )
        clock.advance(timedelta(seconds=21))  # its lease has run out
        assert await sender.send_due() == 0
    assert await db[QUEUE].count_documents({}) == 0
    assert receiver.received == []
    assert (await stored(store, "DR-10:opened")).status == "delivered"


async def test_an_attempt_whose_replica_died_counts_and_the_next_is_claimed(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    await store.enqueue(report("DR-11:opened", receiver.url))
    async with sending(store, clock, timeout=10) as sender:
        dead = await store.with_policy(sender.policy).take(START)
        assert dead is not None  # its replica died mid-attempt
        assert await sender.send_due() == 0  # it may still be posting
        clock.advance(timedelta(seconds=21))
        assert await sender.send_due() == 1
    done = await stored(store, "DR-11:opened")
    assert (done.status, done.attempts) == ("delivered", 2)
    assert len(receiver.received) == 1


async def test_two_replicas_deliver_one_webhook_once(
    isolated: Isolation, db: Database, receiver: Receiver
) -> None:
    other: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True, uuidRepresentation="standard"
    )
    replicas = [MongoDeliveryStore(db), MongoDeliveryStore(other[db.name])]
    clock = FixedClock(START)
    await replicas[0].enqueue(report("DR-12:opened", receiver.url))
    receiver.answer(Reply(200, delay=0.2))  # slow: both replicas look while it is posted
    try:
        async with sending(replicas[0], clock) as one, sending(replicas[1], clock) as two:
            rounds = [await asyncio.gather(one.send_due(), two.send_due()) for _ in range(3)]
    finally:
        await other.close()
    assert sum(map(sum, rounds)) == 1
    assert [r.header(DELIVERY_HEADER) for r in receiver.received] == ["DR-12:opened"]
    done = await stored(replicas[0], "DR-12:opened")
    assert (done.status, done.attempts) == ("delivered", 1)


async def test_two_senders_post_each_attempt_once(
    isolated: Isolation, db: Database, receiver: Receiver
) -> None:
    other: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True, uuidRepresentation="standard"
    )
    replicas = [MongoDeliveryStore(db), MongoDeliveryStore(other[db.name])]
    clock = FixedClock(START)
    keys = [f"DR-{n}:opened" for n in range(20, 32)]
    for key in keys:
        await replicas[0].enqueue(report(key, receiver.url))
    receiver.answer(*[Reply(500, "busy", delay=0.02)] * len(keys))
    try:
        async with sending(replicas[0], clock) as one, sending(replicas[1], clock) as two:
            first = await asyncio.gather(one.send_due(), two.send_due())
            clock.advance(timedelta(seconds=2))
            second = await asyncio.gather(one.send_due(), two.send_due())
    finally:
        await other.close()
    assert sum(first) == sum(second) == len(keys)
    assert Counter(r.header(DELIVERY_HEADER) for r in receiver.received) == dict.fromkeys(keys, 2)
    for key in keys:
        done = await stored(replicas[0], key)
        assert (done.status, done.attempts) == ("delivered", 2)
