"""The shared bus on the real broker and FerretDB: outbox relay, dead letters, deduplication."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from shared.bus import Delivery, EventConsumer, EventPublisher, ensure_topics
from shared.clock import FixedClock, SystemClock
from shared.events import Event
from shared.events.common import Channel, Person
from shared.events.intake import TicketCreated, TicketCreatedData
from shared.inbox import Inbox
from shared.outbox import OutboxRelay, serialise
from shared.settings import ServiceSettings
from tests.helpers import Isolation, TopicReader, produce, wait_for

pytestmark = pytest.mark.integration


def ticket_created(ticket_id: str) -> TicketCreated:
    now = datetime.now(UTC)
    return TicketCreated.create(
        source="intake",
        subject=ticket_id,
        time=now,
        data=TicketCreatedData(
            ticket_id=ticket_id,
            number="HD-000042",
            subject="Disk full",
            channel=Channel.EMAIL,
            requester=Person(email="a@b.example"),
            created_at=now,
        ),
    )


def settings_for(iso: Isolation, service: str) -> ServiceSettings:
    return ServiceSettings(
        service_name=service,
        KAFKA_BOOTSTRAP_SERVERS=iso.infra.kafka,
        MONGODB_URI=iso.infra.mongodb_uri,
        HELPDESK_TOPIC_PREFIX=iso.topic_prefix,
        HELPDESK_DB_PREFIX=iso.db_prefix,
        HELPDESK_RETRY_BACKOFF_SECONDS=0.01,
        HELPDESK_HANDLER_ATTEMPTS=3,
    )


async def test_outbox_relay_publishes_pending_events_in_order_and_clears_them(
    isolated: Isolation,
) -> None:
    settings = settings_for(isolated, "intake")
    await ensure_topics(settings, [isolated.topic("intake")])
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    db = client[settings.database_name]
    events = [ticket_created("t-1"), ticket_created("t-1")]
    await db["tickets"].insert_one({"_id": "t-1", "outbox": serialise(events)})
    broker = KafkaBroker(isolated.infra.kafka)
    await broker.start()
    try:
        relay = OutboxRelay(
            db=db,
            publisher=EventPublisher(broker, settings),
            collections=["tickets"],
            sweep_seconds=60,
            clock=SystemClock(),
        )
        assert await relay.recover() == 2  # left by a crash, no marker: found at start-up
        doc = await db["tickets"].find_one({"_id": "t-1"})
        assert doc is not None and doc["outbox"] == []
        assert await relay.recover() == 0
    finally:
        await broker.stop()
        await client.close()
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        records = await reader.read_until(lambda r: len(r) >= 2)
    assert [json.loads(r.value)["id"] for r in records] == [e.id for e in events]
    assert {r.key for r in records} == {b"t-1"}


async def test_a_write_whose_notification_was_lost_is_relayed_by_the_sweep_of_its_marker(
    isolated: Isolation,
) -> None:
    settings = settings_for(isolated, "sla")
    await ensure_topics(settings, [isolated.topic("sla")])
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    db = client[settings.database_name]
    clock = FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    broker = KafkaBroker(isolated.infra.kafka)
    await broker.start()
    try:
        relay = OutboxRelay(
            db=db,
            publisher=EventPublisher(broker, settings),
            collections=["clocks"],
            sweep_seconds=60,
            clock=clock,
        )
        event = ticket_created("t-9")
        async with relay.writing("clocks", "t-9"):  # the relay loop is not running here
            await db["clocks"].insert_one({"_id": "t-9", "outbox": serialise([event])})
        assert await db["outbox_pending"].count_documents({}) == 1
        assert await relay.sweep() == 1
        assert await db["outbox_pending"].count_documents({}) == 0
        assert await relay.sweep() == 0
    finally:
        await broker.stop()
        await client.close()
    async with TopicReader(isolated.infra.kafka, isolated.topic("sla")) as reader:
        (record,) = await reader.read_until(lambda r: len(r) >= 1)
    assert json.loads(record.value)["id"] == event.id


class Harness:
    """An EventConsumer of service `triage` over the intake topic with a scripted handler."""

    def __init__(self, iso: Isolation, failures: int) -> None:
        self.settings = settings_for(iso, "triage")
        self.failures_left = failures
        self.calls: list[str] = []
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            iso.infra.mongodb_uri, tz_aware=True
        )
        self.broker = KafkaBroker(iso.infra.kafka)
        db = self.client[self.settings.database_name]
        self.consumer = EventConsumer(self.broker, self.settings, Inbox(db), SystemClock())
        self.consumer.route("intake", self.handle, {"ticket.created"})

    async def handle(self, event: Event[Any], delivery: Delivery) -> None:
        self.calls.append(event.id)
        if self.failures_left:
            self.failures_left -= 1
            raise ValueError("rejected by the domain")

    async def __aenter__(self) -> Harness:
        await ensure_topics(self.settings, [*self.consumer.topics, self.consumer.dlq_topic])
        self.consumer.attach()
        await self.broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()
        await self.client.close()


async def test_a_redelivered_event_is_handled_once(isolated: Isolation) -> None:
    event = ticket_created("t-2")
    async with Harness(isolated, failures=0) as harness:
        for _ in range(3):
            await produce(isolated.infra.kafka, isolated.topic("intake"), "t-2", event.to_json())
        await wait_for(lambda: _true(len(harness.calls) >= 1), what="the first delivery")
        late = ticket_created("t-3")
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-3", late.to_json())
        await wait_for(lambda: _true(late.id in harness.calls), what="the later event")
    assert harness.calls.count(event.id) == 1


async def test_a_failing_handler_is_retried_then_dead_lettered_with_the_error(
    isolated: Isolation,
) -> None:
    bad, good = ticket_created("t-4"), ticket_created("t-5")
    async with Harness(isolated, failures=3) as harness:
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-4", bad.to_json())
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-4", good.to_json())
        await wait_for(lambda: _true(good.id in harness.calls), what="the consumer to move on")
    assert harness.calls.count(bad.id) == 3
    dlq = f"{isolated.topic_prefix}helpdesk.triage.dlq"
    async with TopicReader(isolated.infra.kafka, dlq) as reader:
        (record,) = await reader.read_until(lambda r: len(r) >= 1)
    headers = {k: v.decode() for k, v in record.headers}
    assert json.loads(record.value)["id"] == bad.id
    assert record.key == b"t-4"
    assert headers["x-error-type"] == "ValueError"
    assert headers["x-error"] == "rejected by the domain"
    assert headers["x-attempts"] == "3"
    assert headers["x-original-topic"] == isolated.topic("intake")


async def test_a_message_that_is_not_an_event_goes_to_the_dead_letter_topic(
    isolated: Isolation,
) -> None:
    after = ticket_created("t-6")
    async with Harness(isolated, failures=0) as harness:
        await produce(isolated.infra.kafka, isolated.topic("intake"), "x", b"{not json")
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-6", after.to_json())
        await wait_for(lambda: _true(after.id in harness.calls), what="the consumer to move on")
    dlq = f"{isolated.topic_prefix}helpdesk.triage.dlq"
    async with TopicReader(isolated.infra.kafka, dlq) as reader:
        (record,) = await reader.read_until(lambda r: len(r) >= 1)
    assert record.value == b"{not json"
    assert dict(record.headers)["x-error-type"] == b"MalformedEvent"


async def _true(value: bool) -> bool:
    return value


class RecordingPublisher:
    service = "probe"

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def publish(self, event: dict[str, Any]) -> None:
        turn = asyncio.get_running_loop().create_future()  # the publish yields, as a send does
        asyncio.get_running_loop().call_soon(turn.set_result, None)
        await turn
        self.seen.append(event["id"])


async def test_writes_that_follow_each_other_closely_are_all_relayed_by_the_stop(
    isolated: Isolation,
) -> None:
    """A write while the relay flushes the same document is relayed too, at the latest by the
    drain at shutdown (here: many documents, three quick writes each, then stop at once)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    db = client[f"{isolated.db_prefix}relay"]
    try:
        for n in range(20):
            publisher = RecordingPublisher()
            relay = OutboxRelay(
                db=db,
                publisher=publisher,  # type: ignore[arg-type]
                collections=["docs"],
                sweep_seconds=60,
                clock=SystemClock(),
            )
            relay.start()
            await db["docs"].insert_one({"_id": f"d{n}", "outbox": []})
            written = []
            for i in range(3):
                event = {"id": f"e{n}-{i}", "subject": f"d{n}", "type": "probe"}
                await db["docs"].update_one({"_id": f"d{n}"}, {"$push": {"outbox": event}})
                await relay.written("docs", f"d{n}")
                written.append(event["id"])
            await relay.stop()
            assert set(written) <= set(publisher.seen), n
            doc = await db["docs"].find_one({"_id": f"d{n}"})
            assert doc is not None and doc["outbox"] == []
    finally:
        await client.close()
