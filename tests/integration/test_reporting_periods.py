"""Reporting's facts by period on the real store: a report of a period reads the hour buckets of
that period and the live set of facts never closed, by `_id`, and nothing else of the history;
its figures are those of a report over every fact; an id left dangling is skipped; a database
from before the buckets is indexed once at start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.reporting import reports, service
from services.reporting.facts import FactDocument, derived
from services.reporting.periods import entries
from services.reporting.reads import READS, Span, selects
from services.reporting.service import ReportingDeps, apply
from services.reporting.store import (
    FACTS,
    FACTS_BY_HOUR,
    FACTS_OPEN,
    MongoFactStore,
    MongoRecordStore,
    MongoReportingStore,
)
from shared.bus import Delivery
from shared.clock import FixedClock
from shared.db import Database
from tests.helpers import Isolation
from tests.integration.test_reporting_facts import history as history_of_one

pytestmark = pytest.mark.integration
DAY0 = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 8
PER_DAY = 12


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}reporting"]
    await client.close()


def deps_of(db: Database, facts: MongoFactStore | None = None) -> ReportingDeps:
    return ReportingDeps(
        store=MongoReportingStore(db),
        facts=facts or MongoFactStore(db),
        records=MongoRecordStore(db),
        clock=FixedClock(DAY0),
    )


def a_fact(created: datetime, closed: datetime | None = None, **more: Any) -> FactDocument:
    fact = {"created_at": created, "channel": "web", "organization_id": "acme", **more}
    if closed is not None:
        fact |= {"resolved_at": closed, "closed_at": closed}
    return FactDocument(fact=derived(fact))


async def history(store: MongoFactStore) -> list[dict[str, Any]]:
    """DAYS days of tickets, PER_DAY a day, each closed 4 to 30 hours after it came (some
    after the last day), every fifth never closed."""
    facts = []
    for n in range(DAYS * PER_DAY):
        created = DAY0 + timedelta(hours=2 * n, minutes=7)
        closed = None if n % 5 == 0 else created + timedelta(hours=4 + 26 * (n % 2))
        doc = a_fact(
            created,
            closed,
            channel=("web", "email")[n % 2],
            assignee=("bo", "al", None)[n % 3],
            sla={"resolution": ("met", "breached")[n % 4 == 1]},
        )
        assert await store.put(f"t-{n:03d}", None, doc)
        facts.append({"ticket_id": f"t-{n:03d}", **doc.fact})
    return facts


def facts_read() -> float:
    return REGISTRY.get_sample_value("helpdesk_reporting_facts_read_total") or 0.0


async def test_a_report_reads_only_its_periods_facts_and_says_what_a_report_of_all_says(
    db: Database,
) -> None:
    deps = deps_of(db)
    everything = await history(deps.facts)
    start = DAY0 + timedelta(days=DAYS - 2)
    end = start + timedelta(days=1)
    for name in ("trouble-calls", "sla-compliance", "resolution", "agents", "service-levels"):
        spans = READS[name].facts
        assert spans is not None
        taken = [f for f in everything if selects(spans(start, end), f)]
        before = facts_read()
        info, rows = await service.report(name, start, end, None, deps)
        read = facts_read() - before
        expected = reports.build(name, reports.Inputs(facts=everything), start, end, None)
        assert (info, rows) == expected and rows, name
        assert read == len(taken) < len(everything), name  # the period's buckets, no more


async def test_a_fact_missing_from_its_bucket_is_not_read_and_a_dangling_id_is_skipped(
    db: Database,
) -> None:
    store = MongoFactStore(db)
    ten = DAY0 + timedelta(hours=10)
    for ticket, created in (("t-in", ten), ("t-hidden", ten), ("t-other-day", ten + timedelta(1))):
        assert await store.put(ticket, None, a_fact(created))
    bucket = f"{ten:%Y-%m-%dT%H}|created_at"
    await db[FACTS_BY_HOUR].update_one({"_id": bucket}, {"$unset": {"ids.t-hidden": ""}})
    dangling = {"ids.t-other-day": 1, "ids.t-never-written": 1}  # a crash before the fact write
    await db[FACTS_BY_HOUR].update_one({"_id": bucket}, {"$set": dangling})
    found = await store.within([Span("created_at", DAY0, DAY0 + timedelta(days=1))])
    assert [f["ticket_id"] for f in found] == ["t-in"]  # read by bucket, filtered by the span


async def test_tickets_never_closed_are_read_from_the_live_set_alone(db: Database) -> None:
    store = MongoFactStore(db)
    await history(store)
    open_ids = {str(d["_id"]) for d in await db[FACTS_OPEN].find().to_list(None)}
    assert open_ids == {f"t-{n:03d}" for n in range(0, DAYS * PER_DAY, 5)}
    first = await store.get("t-000")
    assert first is not None
    closed_at = DAY0 + timedelta(days=DAYS + 3)  # after every other close
    closing = a_fact(first.fact["created_at"], closed_at)
    assert await store.put("t-000", first, closing)  # closed: it leaves the live set
    before = facts_read()
    found = await store.within([Span("closed_at", unset=True)])
    assert {f["ticket_id"] for f in found} == open_ids - {"t-000"}
    assert facts_read() - before == len(open_ids) - 1  # nothing of the closed history
    later = await store.within([Span("closed_at", since=closed_at)])  # after the clock's day
    assert [f["ticket_id"] for f in later] == ["t-000"]


async def test_a_writer_that_lost_to_the_close_leaves_no_entry_in_the_live_set(
    db: Database,
) -> None:
    store = MongoFactStore(db)
    ten = DAY0 + timedelta(hours=10)
    assert await store.put("t-1", None, a_fact(ten, ten + timedelta(hours=4)))  # triage first
    assert not await store.put("t-1", None, a_fact(ten))  # intake's insert comes second
    assert await db[FACTS_OPEN].find_one({"_id": "t-1"}) is None
    assert await store.within([Span("closed_at", unset=True)]) == []


async def test_a_time_moved_to_a_later_day_leaves_its_old_bucket(db: Database) -> None:
    store = MongoFactStore(db)
    ten = DAY0 + timedelta(hours=10)
    assert await store.put("t-1", None, a_fact(ten, ten + timedelta(hours=1)))
    first = await store.get("t-1")
    assert first is not None
    again = ten + timedelta(days=2)  # reopened, resolved and closed again two days later
    assert await store.put("t-1", first, a_fact(ten, again))
    buckets = {d["_id"]: d.get("ids", {}) for d in await db[FACTS_BY_HOUR].find().to_list(None)}
    assert buckets[f"{ten:%Y-%m-%dT}11|resolved_at"] == {}
    assert buckets[f"{again:%Y-%m-%dT%H}|resolved_at"] == {"t-1": 1}
    day_one = [Span("resolved_at", DAY0, DAY0 + timedelta(days=1))]
    assert await store.within(day_one) == []


async def test_a_database_from_before_the_buckets_is_indexed_once_at_start(
    db: Database,
) -> None:
    ten = DAY0 + timedelta(hours=10)
    old = [("t-1", a_fact(ten)), ("t-2", a_fact(ten, ten + timedelta(hours=3)))]
    await db[FACTS].insert_many(
        [{"_id": t, **d.model_dump(mode="python")} for t, d in old]  # written before buckets
    )
    store = MongoFactStore(db)
    await store.start()
    day = [Span("created_at", DAY0, DAY0 + timedelta(days=1))]
    assert [f["ticket_id"] for f in await store.within(day)] == ["t-1", "t-2"]
    assert [f["ticket_id"] for f in await store.within([Span("closed_at", unset=True)])] == ["t-1"]
    assert await db[FACTS_BY_HOUR].find_one({"_id": "filled"}) is not None
    await db[FACTS].insert_one({"_id": "t-3", **a_fact(ten).model_dump(mode="python")})
    await MongoFactStore(db).start()  # a second start: the pass is not made again
    assert [f["ticket_id"] for f in await store.within(day)] == ["t-1", "t-2"]


async def test_consumers_of_three_topics_writing_at_once_list_the_fact_where_it_is(
    db: Database, isolated: Isolation
) -> None:
    """Each topic's consumer, and a second replica of each, lays its events into the ticket's
    fact at once: the buckets and the live set end as the final fact says, nothing dangling."""
    events = history_of_one()
    deps = deps_of(db)

    async def consumer(producer: str) -> None:
        for offset, event in enumerate(events[producer]):
            await apply(event, Delivery(isolated.topic(producer), 0, offset), deps)

    await asyncio.gather(*(consumer(p) for _ in range(2) for p in events))
    final = await deps.facts.get("t-1")
    assert final is not None and final.fact.get("closed_at") is not None
    listing = {
        d["_id"] for d in await db[FACTS_BY_HOUR].find().to_list(None) if "t-1" in d.get("ids", {})
    }
    assert listing == entries(final.fact)
    assert await db[FACTS_OPEN].find_one({"_id": "t-1"}) is None
