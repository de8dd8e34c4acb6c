"""Reporting's storage: counters sharded by day, topic and partition.

One partition has one consumer at a time, so each counter document has one writer, which FerretDB
needs; the document remembers the last offset it applied, so a redelivered event counts once.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document
from shared.runtime import IndexSpec

COUNTERS = "counters"

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
