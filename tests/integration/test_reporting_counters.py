"""Reporting's counters on the real store: one document a day, written by the consumers of every
partition at once with an `$inc` guarded by the partition's offset; N writers at once lose no
count, and an offset applied before is not counted again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.reporting.domain import add_into
from services.reporting.store import MongoReportingStore
from shared.db import Database
from tests.helpers import Isolation

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 2)
WRITERS = 8
EVENTS = 40


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}reporting"]
    await client.close()


async def test_n_concurrent_writers_lose_no_count_and_an_offset_counts_once(db: Database) -> None:
    store = MongoReportingStore(db)

    async def writer(partition: int) -> int:
        counted = 0
        for offset in range(EVENTS):
            incs = {"tickets_created": 1, f"by_queue.q{offset % 3}": 1}
            counted += await store.count(DAY, "helpdesk.intake.v1", partition, offset, incs)
            if offset % 10 == 9:  # a redelivery of what was just applied
                counted += await store.count(DAY, "helpdesk.intake.v1", partition, offset, incs)
        return counted

    counted = await asyncio.gather(*(writer(p) for p in range(WRITERS)))
    total: dict[str, Any] = {}
    days = await store.counter_days(DAY)
    for day in days:
        add_into(total, day.get("c", {}))
    assert len(days) == 1  # one document for the day, whatever the partitions
    assert counted == [EVENTS] * WRITERS
    assert total["tickets_created"] == WRITERS * EVENTS
    assert sum(total["by_queue"].values()) == WRITERS * EVENTS
    assert total["by_queue"]["q0"] == WRITERS * 14  # offsets 0, 3, ..., 39
