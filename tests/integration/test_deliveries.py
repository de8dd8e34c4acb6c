"""The outbound-delivery queue on the real store: leases, retries, take-over after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.db import Database
from shared.deliveries import DeliveryQueue, RetryPolicy

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, backoff_base=10, backoff_cap=60, lease=timedelta(minutes=1))


@pytest.fixture
async def dbs(isolated: Any) -> AsyncIterator[list[Database]]:
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(isolated.infra.mongodb_uri, tz_aware=True) for _ in range(4)
    ]
    yield [client[f"{isolated.db_prefix}deliveries"] for client in clients]
    for client in clients:
        await client.close()


async def test_each_due_delivery_is_leased_to_exactly_one_replica(dbs: list[Database]) -> None:
    queue = DeliveryQueue(dbs[0], "outgoing", POLICY)
    for n in range(30):
        assert await queue.enqueue(f"d{n}", {"to": f"c{n}@example.com"}, NOW)
    assert not await queue.enqueue("d0", {"to": "someone-else@example.com"}, NOW)
    taken: list[str] = []

    async def replica(db: Database) -> None:
        mine = DeliveryQueue(db, "outgoing", POLICY)
        while attempt := await mine.take(NOW):
            assert attempt.number == 1 and not attempt.exhausted
            taken.append(attempt.fields["to"])

    await asyncio.gather(*(replica(db) for db in dbs))
    assert sorted(taken) == sorted(f"c{n}@example.com" for n in range(30))
    assert await queue.take(NOW) is None  # all leased: nothing due until the leases run out


async def test_a_failed_attempt_is_retried_after_its_backoff_then_given_up(
    dbs: list[Database],
) -> None:
    queue = DeliveryQueue(dbs[0], "outgoing", POLICY)
    await queue.enqueue("d", {"to": "c@example.com"}, NOW)
    first = await queue.take(NOW)
    assert first is not None and await queue.retry(first, NOW, "421 try later")
    assert await queue.take(NOW + timedelta(seconds=9)) is None
    second = await queue.take(NOW + timedelta(seconds=10))
    assert second is not None and (second.number, second.last_error) == (2, "421 try later")
    assert await queue.retry(second, NOW + timedelta(seconds=10), "again")
    third = await queue.take(NOW + timedelta(seconds=30))
    assert third is not None and third.number == 3
    assert not await queue.retry(third, NOW + timedelta(seconds=30), "still")  # the last try
    await queue.done(third)
    assert await queue.pending() == 0


async def test_an_attempt_left_by_a_dead_replica_is_taken_over_and_the_old_lease_is_void(
    dbs: list[Database],
) -> None:
    queue = DeliveryQueue(dbs[0], "outgoing", POLICY)
    await queue.enqueue("d", {"to": "c@example.com"}, NOW)
    lost = await queue.take(NOW)  # this replica dies mid-attempt
    assert lost is not None
    assert await queue.take(NOW + timedelta(seconds=59)) is None
    again = await queue.take(NOW + timedelta(minutes=1))
    assert again is not None and again.number == 2
    assert not await queue.retry(lost, NOW, "late answer of the dead attempt")
    await queue.done(lost)  # no effect: the item is the new holder's
    assert await queue.pending() == 1
    await queue.done(again)
    assert await queue.pending() == 0


async def test_interrupted_attempts_use_up_the_tries(dbs: list[Database]) -> None:
    queue = DeliveryQueue(dbs[0], "outgoing", POLICY)
    await queue.enqueue("d", {}, NOW)
    at = NOW
    for number in (1, 2, 3):
        attempt = await queue.take(at)
        assert attempt is not None and (attempt.number, attempt.exhausted) == (number, False)
        at += timedelta(minutes=1)
    last = await queue.take(at)
    assert last is not None and last.exhausted
