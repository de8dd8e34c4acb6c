"""Triage's open work, the live set worklists and gauges read, on the real store: it follows the
items, and a row that lags its item (a crash between the two writes) is put right."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.triage.store import MongoTriageStore, WorkItem
from shared.db import Database
from shared.events.common import Level, Priority, TicketStatus, TicketType
from shared.versioned import Versioned

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def item(n: int, queue: str = "operations", rank: int = 2, **changes: Any) -> WorkItem:
    base = WorkItem(
        ticket_id=f"t-{n}",
        number=f"HD-{n:06d}",
        subject="Disk full",
        organization_id="acme",
        service_level=None,
        entitled=True,
        type=TicketType.INCIDENT,
        impact=Level.MEDIUM,
        urgency=Level.MEDIUM,
        priority=Priority.NORMAL,
        priority_rank=rank,
        queue=queue,
        tier=1,
        status=TicketStatus.OPEN,
        created_at=T0 + timedelta(minutes=n),
        explanation=[],
        history=[],
    )
    return base.model_copy(update=changes)


@pytest.fixture
async def db(isolated: Any) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}triage"]
    await client.close()


async def test_the_worklist_follows_priority_due_time_and_age_and_drops_done_work(
    db: Database,
) -> None:
    store = MongoTriageStore(db)
    await store.insert_item(item(1, rank=2), [])
    await store.insert_item(item(2, rank=0), [])
    await store.insert_item(item(3, rank=2, sla_due_at=T0 + timedelta(hours=1)), [])
    await store.insert_item(item(4, queue="development"), [])
    listed = (await store.queue_items("operations", 10)).items
    assert [i.ticket_id for i in listed] == ["t-2", "t-3", "t-1"]
    two = await store.get_item("t-2")
    assert two is not None
    resolved = two.model_copy(update={"status": TicketStatus.RESOLVED})
    assert await store.save(two, resolved, [])
    assert [i.ticket_id for i in (await store.queue_items("operations", 10)).items] == [
        "t-3",
        "t-1",
    ]
    assert [i.ticket_id for i in (await store.queue_items("operations", 1)).items] == ["t-3"]
    assert sorted(w.queue for w in await store.open_work()) == [
        "development",
        "operations",
        "operations",
    ]


async def test_a_row_left_behind_by_a_crash_is_put_right_by_the_worklist_and_at_start(
    db: Database,
) -> None:
    store = MongoTriageStore(db)
    await store.insert_item(item(1), [])
    # a writer that died between the item's write and its row's: the item moved queues
    raw: Versioned[WorkItem] = Versioned(db, "work_items", WorkItem, service="triage")
    current = await store.get_item("t-1")
    assert current is not None
    assert await raw.save("t-1", current.revision, current.model_copy(update={"queue": "dev"}), [])
    assert (await store.queue_items("operations", 10)).items == []  # the stale row is left out...
    assert [i.ticket_id for i in (await store.queue_items("dev", 10)).items] == [
        "t-1"
    ]  # ...and moved
    # an item whose row never got written at all is found by the start-up pass
    await raw.insert("t-2", item(2, queue="dev"), [])
    assert [i.ticket_id for i in (await store.queue_items("dev", 10)).items] == ["t-1"]
    assert await store.track_open_items() == 2
    assert [i.ticket_id for i in (await store.queue_items("dev", 10)).items] == ["t-1", "t-2"]
