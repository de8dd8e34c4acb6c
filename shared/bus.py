"""Kafka wiring: broker factory, topics, publisher, and the consumer every service uses.

A consumed event is parsed, deduplicated against the inbox, handled with retries and backoff, and
either recorded as processed or sent to the service's dead-letter topic. Offsets are committed only
after that (AckPolicy.NACK_ON_ERROR); a Mongo or Kafka outage is redelivered, never dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pymongo.errors import ConnectionFailure

from . import metrics
from .clock import Clock
from .events import Event, MalformedEvent, UnknownEvent, parse_event
from .inbox import Inbox
from .logging import log_context
from .settings import ServiceSettings
from .topics import dlq_of, topic_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """Where a consumed event came from; one partition has one consumer at a time."""

    topic: str
    partition: int
    offset: int


Handler = Callable[[Event[Any], Delivery], Awaitable[None]]
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaConnectionError,
    KafkaTimeoutError,
    TimeoutError,
)
MAX_TRANSIENT_BACKOFF = 5.0


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=True,
        graceful_timeout=10.0,
        logger=logging.getLogger(f"faststream.{settings.service_name}"),
        log_level=logging.DEBUG,  # per-message Received/Processed lines only when debugging
    )


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    """Create the topics a service needs, with partitions so replicas can share the work."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            new = [NewTopic(t, settings.topic_partitions, 1) for t in missing]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another service created it between our listing and our request
    finally:
        await admin.close()


class EventPublisher:
    """Publishes serialised events to the service's topic, keyed by the aggregate id."""

    def __init__(self, broker: KafkaBroker, settings: ServiceSettings) -> None:
        self._broker = broker
        self.service = settings.service_name
        self.topic = topic_of(settings.service_name, settings.topic_prefix)

    async def publish(self, event: dict[str, Any]) -> None:
        await self._broker.publish(
            json.dumps(event).encode(),
            self.topic,
            key=str(event["subject"]).encode(),
            headers={"content-type": "application/cloudevents+json", "ce_type": event["type"]},
        )
        metrics.EVENTS_OUT.labels(self.service, self.topic, event["type"]).inc()


@dataclass(frozen=True)
class Route:
    handle: Handler
    types: frozenset[str]


class EventConsumer:
    """One subscriber per service over every topic it reads; routes events to use cases."""

    def __init__(
        self, broker: KafkaBroker, settings: ServiceSettings, inbox: Inbox, clock: Clock
    ) -> None:
        self._broker = broker
        self._settings = settings
        self._inbox = inbox
        self._clock = clock
        self.service = settings.service_name
        self.dlq_topic = dlq_of(settings.service_name, settings.topic_prefix)
        self._routes: dict[str, list[Route]] = {}
        self._lagging: set[tuple[str, int]] = set()  # partitions whose lag this replica reports
        self._transient_streak = 0
        self.dead_letter_streak = 0
        """Messages dead-lettered in a row: every message failing is a cause to fix (a bad
        record, a bad deploy), not a bad message; /readyz reports it past a threshold."""

    @property
    def topics(self) -> list[str]:
        return list(self._routes)

    def route(self, producer: str, handle: Handler, types: Collection[str]) -> None:
        topic = topic_of(producer, self._settings.topic_prefix)
        self._routes.setdefault(topic, []).append(Route(handle, frozenset(types)))

    def attach(self) -> None:
        if not self._routes:
            return

        async def on_message(msg: KafkaMessage) -> None:
            record = msg.raw_message
            assert isinstance(record, ConsumerRecord), "batch subscribers are not used"
            delivery = Delivery(record.topic, record.partition, record.offset)
            await self.process(delivery, record.key, msg.body)
            self._observe_lag(msg)

        self._broker.subscriber(
            *self.topics,
            group_id=self._settings.group_id,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            title=f"{self.service}-events",
            description=f"Events {self.service} reacts to",
        )(on_message)

    async def process(self, delivery: Delivery, key: bytes | None, value: bytes) -> None:
        topic = delivery.topic
        try:
            event = parse_event(value)
        except MalformedEvent as exc:
            await self.dead_letter(topic, key, value, exc, attempts=1)
            return
        routes = [r for r in self._routes.get(topic, []) if event.type in r.types]
        if isinstance(event, UnknownEvent) or not routes:
            return  # not ours to handle: newer or unrelated event types pass by
        if await self._inbox.seen(event.id):
            metrics.EVENTS_DUPLICATE.labels(self.service, topic).inc()
            return
        with log_context(event.subject, event.correlationid):
            for route in routes:
                if not await self._run(delivery, key, value, event, route.handle):
                    return
            await self._inbox.record(event.id, event.type, self._clock.now())
            metrics.EVENTS_IN.labels(self.service, topic, event.type).inc()
            self._handled()

    async def _run(
        self,
        delivery: Delivery,
        key: bytes | None,
        value: bytes,
        event: Event[Any],
        handle: Handler,
    ) -> bool:
        """True when handled; False when dead-lettered. Raises on outages so Kafka redelivers."""
        topic = delivery.topic
        attempts = self._settings.handler_attempts
        for attempt in range(1, attempts + 1):
            try:
                with metrics.HANDLER_LATENCY.labels(self.service, topic, event.type).time():
                    await handle(event, delivery)
            except TRANSIENT_ERRORS as exc:
                metrics.EVENTS_FAILED.labels(self.service, topic, "transient").inc()
                self._transient_streak += 1
                pause = min(MAX_TRANSIENT_BACKOFF, self._backoff(self._transient_streak))
                log.warning("transient failure, will redeliver after %.1fs: %r", pause, exc)
                await asyncio.sleep(pause)
                raise
            except Exception as exc:  # not lost: retried, then dead-lettered with the error
                metrics.EVENTS_FAILED.labels(self.service, topic, type(exc).__name__).inc()
                log.warning("handler failed (attempt %d/%d): %r", attempt, attempts, exc)
                if attempt == attempts:
                    await self.dead_letter(topic, key, value, exc, attempts=attempt)
                    return False
                await asyncio.sleep(self._backoff(attempt))
            else:
                self._transient_streak = 0
                return True
        return False

    def _backoff(self, attempt: int) -> float:
        return float(self._settings.retry_backoff_seconds * 2 ** (attempt - 1))

    async def dead_letter(
        self, topic: str, key: bytes | None, value: bytes, exc: BaseException, attempts: int
    ) -> None:
        log.error("dead-lettering a message from %s: %r", topic, exc)
        await self._broker.publish(
            value,
            self.dlq_topic,
            key=key,
            headers={
                "x-original-topic": topic,
                "x-consumer": self.service,
                "x-error-type": type(exc).__name__,
                "x-error": str(exc)[:2000],
                "x-attempts": str(attempts),
            },
        )
        metrics.EVENTS_DEAD_LETTERED.labels(self.service, topic).inc()
        self.dead_letter_streak += 1
        metrics.DEAD_LETTER_STREAK.labels(self.service).set(self.dead_letter_streak)

    def _handled(self) -> None:
        if self.dead_letter_streak:
            self.dead_letter_streak = 0
            metrics.DEAD_LETTER_STREAK.labels(self.service).set(0)

    @property
    def failing(self) -> bool:
        """Whether the last messages were all dead-lettered (the threshold of settings)."""
        return self.dead_letter_streak >= self._settings.dead_letter_streak_unready

    def _observe_lag(self, msg: Any) -> None:
        """The lag of the message's partition; partitions a rebalance took away stop being
        reported (another replica reports them now)."""
        record = msg.raw_message
        highwater = getattr(msg.consumer, "highwater", None)
        if highwater is None:
            return
        end = highwater(TopicPartition(record.topic, record.partition))
        if end is not None:
            lag = max(0, end - record.offset - 1)
            metrics.CONSUMER_LAG.labels(self.service, record.topic, str(record.partition)).set(lag)
            self._lagging.add((record.topic, record.partition))
        assignment = getattr(msg.consumer, "assignment", None)
        if assignment is None:
            return
        mine = {(tp.topic, tp.partition) for tp in assignment()}
        for topic, partition in self._lagging - mine:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self.service, topic, str(partition))
        self._lagging &= mine
