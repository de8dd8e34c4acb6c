"""Reporting's storage: counters sharded by day, topic and partition.

One partition has one consumer at a time, so each counter document has one writer, which FerretDB
needs; the document remembers the last offset it applied, so a redelivered event counts once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import (
    Database,
    Document,
    bson_dates,
    existing,
    partition_names,
    partition_of,
    without_id,
)
from shared.events import Event
from shared.outbox import OUTBOX, serialise
from shared.runtime import IndexSpec

COUNTERS = "counters"
FACTS = "facts"  # facts_<producer>_pNNN: "<ticket id>" -> that topic's part of its facts
FACT_PARTS = 64

INDEXES: list[IndexSpec] = [(COUNTERS, [("day", ASCENDING)], False)]


class ReportingStore(Protocol):
    async def count(
        self, day: date, topic: str, partition: int, offset: int, incs: dict[str, int]
    ) -> bool: ...
    async def counter_shards(self, first_day: date | None) -> list[Document]: ...


class MongoReportingStore:
    def __init__(self, db: Database) -> None:
        self._counters = db[COUNTERS]

    async def count(
        self, day: date, topic: str, partition: int, offset: int, incs: dict[str, int]
    ) -> bool:
        """Apply increments once per (topic, partition, offset); False when already applied."""
        shard = f"{day.isoformat()}|{topic}|{partition}"
        try:
            await self._counters.update_one(
                {"_id": shard, "offset": {"$lt": offset}},
                {
                    "$inc": {f"c.{k}": v for k, v in incs.items()},
                    "$set": {"offset": offset, "day": day.isoformat(), "topic": topic},
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the shard has applied this offset already
        return True

    async def counter_shards(self, first_day: date | None) -> list[Document]:
        query: dict[str, Any] = (
            {} if first_day is None else {"day": {"$gte": first_day.isoformat()}}
        )
        return await self._counters.find(query).to_list(None)


class MongoFactStore:
    """Each topic's part of each ticket's facts, split by ticket (FerretDB scans for an _id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _parts(self, producer: str, ticket_id: str) -> Any:
        return self._db[partition_of(f"{FACTS}_{producer}", ticket_id, FACT_PARTS)]

    async def part(self, producer: str, ticket_id: str) -> Document:
        doc = await self._parts(producer, ticket_id).find_one({"_id": ticket_id})
        return without_id(doc) if doc else {}

    async def save_part(self, producer: str, ticket_id: str, part: Document) -> None:
        """One writer per part (its topic partition's consumer): a plain replace is safe."""
        await self._parts(producer, ticket_id).replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, **part}, upsert=True
        )

    async def all_parts(self, producer: str) -> dict[str, Document]:
        """Every ticket's part from one topic (a pass over its collections, for reports)."""
        parts: dict[str, Document] = {}
        names = partition_names(f"{FACTS}_{producer}", FACT_PARTS)
        for name in await existing(self._db, names):
            for doc in await self._db[name].find({}, {"events": 0}).to_list(None):
                parts[str(doc["_id"])] = without_id(doc)
        return parts


class MongoRecordStore:
    """Problem management's records as reporting keeps them (records_<kind>, by id)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, kind: str, record_id: str) -> Document:
        doc = await self._db[f"records_{kind}"].find_one({"_id": record_id})
        return without_id(doc) if doc else {}

    async def save(self, kind: str, record_id: str, record: Document) -> None:
        """One writer per record (its partition's consumer): a plain replace is safe."""
        await self._db[f"records_{kind}"].replace_one(
            {"_id": record_id}, {"_id": record_id, **bson_dates(record)}, upsert=True
        )

    async def all(self, kind: str) -> list[Document]:
        docs = await self._db[f"records_{kind}"].find({}, {"events": 0}).to_list(None)
        return [without_id(d) for d in docs]


SCHEDULES = "report_schedules"
GENERATED = "generated_reports"  # "<schedule>-<period start>" -> the report, chart, CSV, outbox
MAILS = "report_mails"  # "<report>|<address>" -> sent or pending (small: pending ones are few)
MAIL_ATTEMPTS = "report_mail_attempts"  # "<report>|<address>#<n>": who sends attempt n


class MongoScheduleStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, schedule: Document) -> None:
        await self._db[SCHEDULES].insert_one({"_id": schedule["id"], **schedule})

    async def remove(self, schedule_id: str) -> bool:
        return (await self._db[SCHEDULES].delete_one({"_id": schedule_id})).deleted_count == 1

    async def all(self) -> list[Document]:
        return [without_id(d) for d in await self._db[SCHEDULES].find().to_list(None)]

    async def generated(self, report_id: str) -> Document | None:
        doc = await self._db[GENERATED].find_one({"_id": report_id}, {OUTBOX: 0})
        return without_id(doc) if doc else None

    async def list_generated(self) -> list[Document]:
        docs = await self._db[GENERATED].find({}, {OUTBOX: 0, "png": 0, "csv": 0}).to_list(None)
        return [without_id(d) for d in docs]

    async def keep_generated(self, report: Document, events: Sequence[Event[Any]]) -> bool:
        """Once per schedule and period (a keyed insert): False when another replica did."""
        doc = {"_id": report["id"], **report, OUTBOX: serialise(events)}
        try:
            await self._db[GENERATED].insert_one(doc)
        except DuplicateKeyError:
            return False
        for address in report.get("subscribers", []):
            key = f"{report['id']}|{address}"
            mail = {"_id": key, "report_id": report["id"], "to": address, "status": "pending"}
            with contextlib.suppress(DuplicateKeyError):
                await self._db[MAILS].insert_one({**mail, "attempts": 0})
        return True

    async def pending_mails(self) -> list[Document]:
        return await self._db[MAILS].find({"status": "pending"}).to_list(None)

    async def claim_mail(self, key: str, attempt: int) -> bool:
        try:
            await self._db[MAIL_ATTEMPTS].insert_one({"_id": f"{key}#{attempt}"})
        except DuplicateKeyError:
            return False
        return True

    async def mail_tried(self, key: str, attempts: int, status: str, error: str = "") -> None:
        await self._db[MAILS].update_one(
            {"_id": key}, {"$set": {"attempts": attempts, "status": status, "error": error}}
        )
