"""Test support: where the infrastructure is, isolation by prefix, waiting for a state."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from shared.auth import issue_token
from shared.events import parse_event

T = TypeVar("T")
SECRET = "test-secret-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Infra:
    kafka: str
    mongodb_uri: str


@dataclass
class Isolation:
    """Topic and database prefixes of one test, so tests never see each other's data."""

    infra: Infra
    tag: str = field(default_factory=lambda: "t" + uuid.uuid4().hex[:10])

    @property
    def topic_prefix(self) -> str:
        return f"{self.tag}."

    @property
    def db_prefix(self) -> str:
        return f"{self.tag}_"

    def topic(self, producer: str) -> str:
        return f"{self.topic_prefix}helpdesk.{producer}.v1"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.infra.kafka,
            "MONGODB_URI": self.infra.mongodb_uri,
            "HELPDESK_TOPIC_PREFIX": self.topic_prefix,
            "HELPDESK_DB_PREFIX": self.db_prefix,
            "HELPDESK_JWT_SECRET": SECRET,
            "HELPDESK_OUTBOX_SWEEP_SECONDS": "0.5",
            "HELPDESK_RETRY_BACKOFF_SECONDS": "0.05",
            "HELPDESK_SMTP_LISTEN_PORT": "0",  # tests that listen for mail pick a free port
            **extra,
        }

    async def cleanup(self) -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.infra.mongodb_uri)
        try:
            for name in await client.list_database_names():
                if name.startswith(self.db_prefix):
                    await client.drop_database(name)
        finally:
            await client.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.kafka)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(self.topic_prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


def token(roles: Iterable[str] = ("agent",), org: str | None = None, sub: str = "tester") -> str:
    return issue_token(
        SECRET, sub=sub, roles=list(roles), org=org, name=sub, email=f"{sub}@example.org"
    )


def auth(
    roles: Iterable[str] = ("agent",), org: str | None = None, sub: str = "tester"
) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(roles, org, sub)}"}


async def wait_for(
    probe: Callable[[], Awaitable[T | None]],
    within: float = 30.0,
    interval: float = 0.1,
    what: str = "the expected state",
) -> T:
    """Poll until probe returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {within}s waiting for {what}; last seen: {last!r}")


async def pages(
    client: httpx.AsyncClient,
    path: str,
    limit: int,
    key: str,
    headers: dict[str, str] | None = None,
    **params: str,
) -> list[list[Any]]:
    """Each page of a list (`key` of each item), following next_cursor from the first page."""
    found: list[list[Any]] = []
    cursor: dict[str, str] = {}
    while True:
        got = await client.get(
            path, params={"limit": limit, **params, **cursor}, headers=headers or auth(["admin"])
        )
        assert got.status_code == 200, got.text
        found.append([item[key] for item in got.json()["items"]])
        if not got.json()["next_cursor"]:
            return found
        cursor = {"cursor": got.json()["next_cursor"]}


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A service app with its lifespan running (broker, Mongo, relay), and a client for it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


class TopicReader:
    """A plain aiokafka consumer from the earliest offset, as a downstream subscriber would be."""

    def __init__(self, kafka: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=kafka,
            group_id=f"reader-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[Any] = []
        self._seen: set[tuple[str, int, int]] = set()

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read_until(
        self, done: Callable[[list[Any]], bool], within: float = 30.0
    ) -> list[Any]:
        deadline = time.monotonic() + within
        while not done(self.records):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out with {len(self.records)} records read")
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:  # a rebalance of the reader's group fetches again
                    where = (record.topic, record.partition, record.offset)
                    if where not in self._seen:
                        self._seen.add(where)
                        self.records.append(record)
        return self.records

    def distinct_events(self, marker: bytes = b"") -> list[Any]:
        """The events read (those whose bytes hold `marker`), each event id once: delivery is
        at least once, and consumers skip an id they have seen."""
        found: dict[str, Any] = {}
        for record in self.records:
            if marker in record.value:
                event = parse_event(record.value)
                found.setdefault(event.id, event)
        return list(found.values())

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in self.records]


async def produce(kafka: str, topic: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()
