"""Problems' records: problems, knowledge (known errors and articles), deficiency reports,
changes, releases, advisories. Each is one document keyed by its id and changed by
compare-and-set on its revision (shared.versioned), its events in its outbox. None of them
grows with tickets, but all of them grow: the list APIs read a page at a time by an index
(`page`, decision 004); the start-up passes read a whole collection (`load_all`).

A record that no longer loads (an older version's form, or edited by hand) is left out of
lists (`load_all`), refused on its own with a 409 (shared.versioned), and repaired by a change
applied to its stored document (`stored`, `replace_stored`).

Ids come from one counter document per kind ("PRB" -> 41 gives "PRB-000042"), taken by an
atomic `$inc`. The notices still to publish are a small live set of their own, read by the
publication round instead of every advisory ever written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec, bson_dates, without_id
from shared.outbox import OUTBOX
from shared.paging import Order, Position, Slice, read_slice
from shared.records import loaded
from shared.versioned import Versioned

from ..domain.changes import Change
from ..domain.knowledge import Knowledge
from ..domain.notices import Advisory, Release
from ..domain.problems import Problem
from ..domain.reports import DeficiencyReport
from ..metrics import SERVICE

PROBLEMS = "problems"
KNOWLEDGE = "knowledge"
REPORTS = "deficiency_reports"
CHANGES = "changes"
RELEASES = "releases"
ADVISORIES = "advisories"
SEQUENCES = "sequences"  # kind -> {n}: the last number given out
NOTICES_DUE = "notices_due"  # advisory id -> {publish_at, since} while it is scheduled

RECORDS = [PROBLEMS, KNOWLEDGE, REPORTS, CHANGES, RELEASES, ADVISORIES]
# How the lists are paged (shared.paging): newest first, each served by an index below
NEWEST_ID = Order((("_id", DESCENDING, str),))  # ids count up: PRB-000042 after PRB-000041
LATEST_CLOSED = Order((("closed_at", DESCENDING, datetime), ("_id", DESCENDING, str)))
LATEST_RELEASED = Order((("released_on", DESCENDING, datetime), ("_id", DESCENDING, str)))
LATEST_PUBLISHED = Order((("publish_at", DESCENDING, datetime), ("_id", DESCENDING, str)))
RECORD_INDEXES: list[IndexSpec] = [
    (PROBLEMS, [("status", ASCENDING), ("_id", ASCENDING)], False),
    (PROBLEMS, [("status", ASCENDING), ("closed_at", ASCENDING), ("_id", ASCENDING)], False),
    (KNOWLEDGE, [("kind", ASCENDING), ("_id", ASCENDING)], False),
    (CHANGES, [("status", ASCENDING), ("_id", ASCENDING)], False),
    (RELEASES, [("released_on", ASCENDING), ("_id", ASCENDING)], False),
    (RELEASES, [("supported", ASCENDING), ("released_on", ASCENDING), ("_id", ASCENDING)], False),
    (ADVISORIES, [("publish_at", ASCENDING), ("_id", ASCENDING)], False),
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
M = TypeVar("M", bound=BaseModel)


class _Due(BaseModel):
    """An entry of the live set of notices to publish, as stored."""

    advisory_id: str = Field(validation_alias="_id")
    publish_at: datetime
    since: datetime


class MongoProblemsStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.records: dict[str, Versioned[Any]] = {
            name: Versioned(db, name, model, service=SERVICE, encode=bson_dates)
            for name, model in _MODELS.items()
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

    async def load_all(self, collection: str, model: type[M]) -> list[M]:
        """Every record of a (small) collection that loads; one that does not is logged with
        its id, counted and left out."""
        docs: list[Document] = await self._db[collection].find({}, {OUTBOX: 0}).to_list(None)
        return loaded(model, docs, collection, SERVICE)

    async def page(
        self,
        collection: str,
        model: type[M],
        order: Order,
        limit: int,
        after: Position | None,
        where: Document | None = None,
    ) -> Slice[M]:
        """A page of a collection's records in `order` (one indexed query); a record that does
        not load is left out, as in `load_all`, and still counts as read."""
        found = await read_slice(self._db[collection], order, limit, after, where, {OUTBOX: 0})
        return Slice(loaded(model, found.items, collection, SERVICE), found.more_after)

    def model_of(self, collection: str) -> type[BaseModel]:
        return _MODELS[collection]

    async def stored(self, collection: str, record_id: str) -> Document | None:
        """A record's document as it is stored, without its outbox (for repairing one that
        does not load)."""
        doc = await self._db[collection].find_one({"_id": record_id}, {OUTBOX: 0})
        return without_id(doc) if doc is not None else None

    async def replace_stored(
        self, collection: str, record_id: str, revision: Any, state: BaseModel
    ) -> int | None:
        """Overwrite a stored document that does not load with `state`, if it still holds
        `revision` (whatever was stored there, or nothing); its outbox stays. The revision
        written, or None when another writer came first."""
        written = (revision if type(revision) is int else 0) + 1
        doc = bson_dates({**state.model_dump(mode="python"), "revision": written})
        done = await self._db[collection].update_one(
            {"_id": record_id, "revision": {"$eq": revision}}, {"$set": doc}
        )
        return written if done.matched_count == 1 else None

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
        return [(d.advisory_id, d.since) for d in loaded(_Due, docs, NOTICES_DUE, SERVICE)]

    async def notice_done(self, advisory_id: str) -> None:
        """Published, withdrawn or never written: it leaves the live set."""
        await self._db[NOTICES_DUE].delete_one({"_id": advisory_id})
