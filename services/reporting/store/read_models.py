"""The read models built from the event log: counters a day and problem management's records
(the facts and sites are in facts.py).

Every write is idempotent and safe with several writers at once (consumers of different topics,
or two consumers of one partition while a rebalance hands it over): counters by a conditional
`$inc` guarded by the offset, records by compare-and-set on their revision
(shared/versioned.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pymongo.errors import OperationFailure

from shared.db import Database, Document, bson_dates, is_duplicate
from shared.outbox import OUTBOX
from shared.versioned import Versioned

from ..domain import stream_key

COUNTERS = "counters"  # "<day>" -> that day's counters, and the last offset applied per partition
RECORD_KINDS = ("deficiency_reports", "advisories", "releases", "problems")  # records_<kind>


class ReportingStore(Protocol):
    async def count(
        self, day: date, topic: str, partition: int, offset: int, incs: dict[str, int]
    ) -> bool: ...
    async def counter_days(self, first_day: date | None) -> list[Document]: ...


class MongoReportingStore:
    def __init__(self, db: Database) -> None:
        self._counters = db[COUNTERS]

    async def count(
        self, day: date, topic: str, partition: int, offset: int, incs: dict[str, int]
    ) -> bool:
        """Apply increments once per (topic, partition, offset); False when already applied."""
        stream = f"offsets.{stream_key(topic, partition)}"
        guard = {"_id": day.isoformat(), stream: {"$not": {"$gte": offset}}}
        update = {"$inc": {f"c.{k}": v for k, v in incs.items()}, "$set": {stream: offset}}
        try:
            await self._counters.update_one(guard, update, upsert=True)
        except OperationFailure as exc:
            if not is_duplicate(exc):
                raise
            # The day exists and the guard did not match: the offset was applied before, or
            # another partition's writer created the day in the meantime (MongoDB does not
            # retry such an upsert itself). Without the upsert, only the guard decides.
            done = await self._counters.update_one(guard, update)
            return done.matched_count == 1
        return True

    async def counter_days(self, first_day: date | None) -> list[Document]:
        """The counters of each day from `first_day` (all days without it): a document a day,
        read by `_id` range (days sort as ISO dates)."""
        query = {} if first_day is None else {"_id": {"$gte": first_day.isoformat()}}
        return await self._counters.find(query, {"offsets": 0}).to_list(None)


class RecordDocument(BaseModel):
    record: dict[str, Any] = Field(default_factory=dict)
    revision: int = 0


class MongoRecordStore:
    """Problem management's records as reporting keeps them (records_<kind>, by id)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._kinds = {
            kind: Versioned(
                db, f"records_{kind}", RecordDocument, service="reporting", encode=bson_dates
            )
            for kind in RECORD_KINDS
        }

    async def get(self, kind: str, record_id: str) -> RecordDocument | None:
        return await self._kinds[kind].get(record_id)

    async def put(
        self, kind: str, record_id: str, before: RecordDocument | None, after: RecordDocument
    ) -> bool:
        """Write `after` if the record is still as `before` was read (None: not there yet);
        False when another writer came first."""
        if before is None:
            return await self._kinds[kind].insert(record_id, after, [])
        return await self._kinds[kind].save(record_id, before.revision, after, [])

    async def all(self, kind: str) -> list[Document]:
        """Every record of a kind: problem management's objects, far fewer than tickets."""
        projection = {"record.events": 0, OUTBOX: 0}
        docs = await self._db[f"records_{kind}"].find({}, projection).to_list(None)
        return [d["record"] for d in docs]
