"""Problems' records: problems, knowledge (known errors and articles), deficiency reports,
changes, releases, advisories. Each is one document keyed by its id and changed by
compare-and-set on its revision (shared.versioned), its events in its outbox. None of them
grows with tickets: people make them, so a list API may read a whole collection.

Ids come from one counter document per kind ("PRB" -> 41 gives "PRB-000042"), taken by an
atomic `$inc`. The notices still to publish are a small live set of their own, read by the
publication round instead of every advisory ever written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec, bson_dates, without_id
from shared.outbox import OUTBOX
from shared.versioned import Versioned

from ..domain.changes import Change
from ..domain.knowledge import Knowledge
from ..domain.notices import Advisory, Release
from ..domain.problems import Problem
from ..domain.reports import DeficiencyReport

PROBLEMS = "problems"
KNOWLEDGE = "knowledge"
REPORTS = "deficiency_reports"
CHANGES = "changes"
RELEASES = "releases"
ADVISORIES = "advisories"
SEQUENCES = "sequences"  # kind -> {n}: the last number given out
NOTICES_DUE = "notices_due"  # advisory id -> {publish_at, since} while it is scheduled

RECORDS = [PROBLEMS, KNOWLEDGE, REPORTS, CHANGES, RELEASES, ADVISORIES]
RECORD_INDEXES: list[IndexSpec] = [
    (REPORTS, [("tracker_id", ASCENDING)], False),  # the tracker's updates name its own id
    (NOTICES_DUE, [("publish_at", ASCENDING)], False),  # the publication round
    (SEQUENCES, [("prefix", ASCENDING)], False),  # carry_over_sequences, at start
]
_MODELS: dict[str, type[BaseModel]] = {
    PROBLEMS: Problem,
    KNOWLEDGE: Knowledge,
    REPORTS: DeficiencyReport,
    CHANGES: Change,
    RELEASES: Release,
    ADVISORIES: Advisory,
}


class MongoProblemsStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.records: dict[str, Versioned[Any]] = {
            name: Versioned(db, name, model, encode=bson_dates) for name, model in _MODELS.items()
        }

    async def next_id(self, prefix: str) -> str:
        """The next "<prefix>-000123": one atomic increment, so replicas never share one."""
        sequences = self._db[SEQUENCES]
        for _ in range(2):  # two first upserts may race to insert the counter; one wins
            try:
                doc = await sequences.find_one_and_update(
                    {"_id": prefix},
                    {"$inc": {"n": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue
            if doc is not None:  # always, with upsert and the document after the update
                return f"{prefix}-{int(doc['n']):06d}"
        raise RuntimeError(f"the {prefix} counter could not be created")

    async def carry_over_sequences(self) -> None:
        """Start each counter after the ids given out before counters existed (one document
        per id taken, with its prefix): run at start, before this replica takes an id. `$max`
        never lowers a counter another replica has moved on."""
        taken = await (
            await self._db[SEQUENCES].aggregate(
                [
                    {"$match": {"prefix": {"$exists": True}}},
                    {"$group": {"_id": "$prefix", "n": {"$sum": 1}}},
                ]
            )
        ).to_list(None)
        for row in taken:
            await self._db[SEQUENCES].update_one(
                {"_id": row["_id"]}, {"$max": {"n": int(row["n"])}}, upsert=True
            )

    async def all(self, collection: str) -> list[Document]:
        """Every record of a (small) collection, without outboxes."""
        docs: list[Document] = await self._db[collection].find({}, {OUTBOX: 0}).to_list(None)
        return [without_id(d) for d in docs]

    async def find_id(self, collection: str, field: str, value: str) -> str | None:
        """The id of the record whose `field` (an indexed one) is `value`."""
        doc = await self._db[collection].find_one({field: value}, {"_id": 1})
        return str(doc["_id"]) if doc else None

    async def schedule_notice(self, advisory_id: str, publish_at: datetime, now: datetime) -> None:
        """Written before the advisory itself, so no scheduled advisory is without one."""
        await self._db[NOTICES_DUE].update_one(
            {"_id": advisory_id},
            {"$setOnInsert": {"publish_at": publish_at, "since": now}},
            upsert=True,
        )

    async def notices_due(self, now: datetime, limit: int = 100) -> list[tuple[str, datetime]]:
        """(advisory id, since when it is listed) of the notices whose time has come."""
        docs = (
            await self._db[NOTICES_DUE]
            .find({"publish_at": {"$lte": now}})
            .sort("publish_at", ASCENDING)
            .to_list(limit)
        )
        return [(str(d["_id"]), d["since"]) for d in docs]

    async def notice_done(self, advisory_id: str) -> None:
        """Published, withdrawn or never written: it leaves the live set."""
        await self._db[NOTICES_DUE].delete_one({"_id": advisory_id})
