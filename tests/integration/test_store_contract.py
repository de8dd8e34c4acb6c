"""The store contract: the MongoDB semantics Switchboard's code relies on, checked against whatever
MONGODB_URI points at (the patched local FerretDB, or a MongoDB container on the testcontainers
path). Stock FerretDB v1.24.2 fails the concurrency tests: it applies updates read-modify-write
without a lock (see deploy/local/ferretdb/).

Every contender is its own client, so the writes really race on the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.db import Database

pytestmark = pytest.mark.integration

Client = AsyncMongoClient[dict[str, Any]]
CLIENTS = 8


@pytest.fixture
async def dbs(isolated: Any) -> AsyncIterator[list[Database]]:
    """One database seen through CLIENTS separate clients."""
    clients: list[Client] = [
        AsyncMongoClient(isolated.infra.mongodb_uri, tz_aware=True) for _ in range(CLIENTS)
    ]
    name = f"{isolated.db_prefix}contract"
    yield [client[name] for client in clients]
    for client in clients:
        await client.close()


async def test_concurrent_inc_and_push_on_one_document_lose_nothing(dbs: list[Database]) -> None:
    await dbs[0].docs.insert_one({"_id": "d", "count": 0, "log": []})

    async def writer(db: Database, n: int) -> None:
        for i in range(60):
            await db.docs.update_one(
                {"_id": "d"}, {"$inc": {"count": 1}, "$push": {"log": f"{n}-{i}"}}
            )

    await asyncio.gather(*(writer(db, n) for n, db in enumerate(dbs)))
    doc = await dbs[0].docs.find_one({"_id": "d"})
    assert doc is not None
    assert doc["count"] == CLIENTS * 60
    assert sorted(doc["log"]) == sorted(f"{n}-{i}" for n in range(CLIENTS) for i in range(60))


async def test_compare_and_set_on_revision_has_one_winner_per_revision(
    dbs: list[Database],
) -> None:
    await dbs[0].docs.insert_one({"_id": "v", "revision": 0, "won_by": []})
    wins: dict[int, list[int]] = {}

    async def contender(db: Database, n: int) -> None:
        for _ in range(40):
            doc = await db.docs.find_one({"_id": "v"})
            assert doc is not None
            seen = doc["revision"]
            result = await db.docs.update_one(
                {"_id": "v", "revision": seen},
                {"$inc": {"revision": 1}, "$push": {"won_by": f"{n}@{seen}"}},
            )
            if result.modified_count:
                wins.setdefault(seen, []).append(n)

    await asyncio.gather(*(contender(db, n) for n, db in enumerate(dbs)))
    doc = await dbs[0].docs.find_one({"_id": "v"})
    assert doc is not None
    assert all(len(winners) == 1 for winners in wins.values()), wins
    assert doc["revision"] == len(wins) == len(doc["won_by"])
    assert sorted(wins) == list(range(doc["revision"]))


async def test_find_one_and_update_hands_each_lease_to_exactly_one_contender(
    dbs: list[Database],
) -> None:
    await dbs[0].leases.insert_many(
        [{"_id": f"job-{i}", "state": "pending", "holder": None} for i in range(40)]
    )
    taken: list[tuple[str, int]] = []

    async def worker(db: Database, n: int) -> None:
        while True:
            lease = await db.leases.find_one_and_update(
                {"state": "pending"},
                {"$set": {"state": "leased", "holder": n}},
                return_document=ReturnDocument.AFTER,
            )
            if lease is None:
                return
            assert lease["holder"] == n
            taken.append((lease["_id"], n))

    await asyncio.gather(*(worker(db, n) for n, db in enumerate(dbs)))
    assert sorted(job for job, _ in taken) == sorted(f"job-{i}" for i in range(40))
    stored = {doc["_id"]: doc["holder"] async for doc in dbs[0].leases.find({})}
    assert stored == dict(taken)


async def test_find_one_and_update_inc_returns_distinct_values(dbs: list[Database]) -> None:
    await dbs[0].counters.insert_one({"_id": "ticket_number", "value": 0})
    seen: list[int] = []

    async def taker(db: Database) -> None:
        for _ in range(40):
            doc = await db.counters.find_one_and_update(
                {"_id": "ticket_number"},
                {"$inc": {"value": 1}},
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None
            seen.append(doc["value"])

    await asyncio.gather(*(taker(db) for db in dbs))
    assert sorted(seen) == list(range(1, CLIENTS * 40 + 1))


async def test_unique_index_refuses_a_duplicate_from_insert_and_from_upsert(
    dbs: list[Database],
) -> None:
    db = dbs[0]
    await db.people.create_index([("email", 1)], unique=True)
    await db.people.insert_one({"_id": "p1", "email": "a@example.com"})
    with pytest.raises(DuplicateKeyError) as dup_id:
        await db.people.insert_one({"_id": "p1", "email": "b@example.com"})
    assert dup_id.value.code == 11000
    with pytest.raises(DuplicateKeyError) as dup_key:
        await db.people.insert_one({"_id": "p2", "email": "a@example.com"})
    assert dup_key.value.code == 11000
    with pytest.raises(OperationFailure) as dup_upsert:
        await db.people.update_one({"_id": "p3"}, {"$set": {"email": "a@example.com"}}, upsert=True)
    assert dup_upsert.value.code == 11000
    assert await db.people.count_documents({}) == 1


async def test_concurrent_upserts_of_one_key_create_one_document(dbs: list[Database]) -> None:
    async def upsert(db: Database, n: int) -> None:
        for attempt in range(3):  # MongoDB may report a racing upsert as a duplicate: retry it
            try:
                await db.marks.update_one(
                    {"_id": "once"}, {"$inc": {"hits": 1}, "$addToSet": {"by": n}}, upsert=True
                )
                return
            except DuplicateKeyError:
                if attempt == 2:
                    raise

    await asyncio.gather(*(upsert(db, n) for n, db in enumerate(dbs)))
    docs = await dbs[0].marks.find({}).to_list(None)
    assert len(docs) == 1
    assert docs[0]["hits"] == CLIENTS and sorted(docs[0]["by"]) == list(range(CLIENTS))


async def _ferretdb(db: Database) -> bool:
    info = await db.client.admin.command("buildInfo")
    return "ferretdbVersion" in info


async def test_lookups_by_id_are_answered_from_the_index(dbs: list[Database]) -> None:
    """On the local FerretDB: `_id` is pushed down to SQLite and answered from its index, also
    beside other keys (a compare-and-set) and as an `$in` list. (MongoDB does this by itself.)"""
    db = dbs[0]
    if not await _ferretdb(db):
        pytest.skip("checks the local FerretDB's query plan")
    await db.docs.insert_many([{"_id": f"k{i}", "revision": i} for i in range(50)])
    for query in ({"_id": "k7"}, {"_id": "k7", "revision": 7}, {"_id": {"$in": ["k1", "k2"]}}):
        plan = await db.command("explain", {"find": "docs", "filter": query})
        assert plan["filterPushdown"] is True, (query, plan)
        details = " ".join(plan["queryPlanner"]["Plan"])
        assert "SEARCH" in details and "USING INDEX" in details, (query, details)
        assert "SCAN" not in details, (query, details)
