"""Report schedules, and the reports they made: one document per schedule and period, holding
the report, its chart and CSV, the report.generated event until it is relayed, and how each
subscriber's mail was settled (the deliveries themselves wait in the mail queue,
shared/deliveries.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec, without_id
from shared.events import Event
from shared.outbox import OUTBOX, serialise
from shared.paging import BY_ID, Order, Position, Slice, read_slice

SCHEDULES = "report_schedules"
GENERATED = "generated_reports"  # "<schedule>-<period start>" -> the report, chart, CSV, outbox
MAIL_QUEUE = "report_mail_queue"  # "<report>|<address>" -> a mail still to send (the live set)
MAILS = "mails"
"""A generated report's settled mails: [{to, outcome (sent|failed), attempts, error, at}]."""
MAILS_QUEUED = "mails_queued"
"""False from the report's insert until its mails are queued (a crash in between is caught up)."""
_NOT_LISTED = {OUTBOX: 0, "png": 0, "csv": 0, MAILS: 0, MAILS_QUEUED: 0}
NEWEST_GENERATED = Order((("generated_at", DESCENDING, datetime), ("_id", DESCENDING, str)))
SCHEDULE_INDEXES: list[IndexSpec] = [
    (GENERATED, [("generated_at", ASCENDING), ("_id", ASCENDING)], False),
]


class MongoScheduleStore:
    def __init__(self, db: Database) -> None:
        self._schedules = db[SCHEDULES]
        self._generated = db[GENERATED]

    async def add(self, schedule: Document) -> None:
        await self._schedules.insert_one({"_id": schedule["id"], **schedule})

    async def remove(self, schedule_id: str) -> bool:
        return (await self._schedules.delete_one({"_id": schedule_id})).deleted_count == 1

    async def all(self) -> list[Document]:
        return [without_id(d) for d in await self._schedules.find().to_list(None)]

    async def page(self, limit: int, after: Position | None) -> Slice[Document]:
        """The schedules by id."""
        found = await read_slice(self._schedules, BY_ID, limit, after)
        return Slice([without_id(d) for d in found.items], found.more_after)

    async def generated(self, report_id: str) -> Document | None:
        doc = await self._generated.find_one({"_id": report_id}, {OUTBOX: 0})
        return without_id(doc) if doc else None

    async def list_generated(self, limit: int, after: Position | None) -> Slice[Document]:
        """The reports made, newest first (then by id), without their chart, CSV and mails."""
        found = await read_slice(self._generated, NEWEST_GENERATED, limit, after, None, _NOT_LISTED)
        return Slice([without_id(d) for d in found.items], found.more_after)

    async def keep_generated(self, report: Document, events: Sequence[Event[Any]]) -> bool:
        """Once per schedule and period (a keyed insert): False when another replica did."""
        doc = {
            "_id": report["id"],
            **report,
            MAILS: [],
            MAILS_QUEUED: False,
            OUTBOX: serialise(events),
        }
        try:
            await self._generated.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def mails_queued(self, report_id: str) -> None:
        await self._generated.update_one({"_id": report_id}, {"$set": {MAILS_QUEUED: True}})

    async def settle_mail(self, report_id: str, outcome: Document) -> bool:
        """Record how the mail to outcome["to"] ended, once; False when it was settled before."""
        done = await self._generated.update_one(
            {"_id": report_id, f"{MAILS}.to": {"$ne": outcome["to"]}},
            {"$push": {MAILS: outcome}},
        )
        return done.matched_count == 1


def settled(stored: Document, to: str) -> bool:
    """Whether the report's mail to `to` was settled (sent, or failed for good)."""
    return any(mail.get("to") == to for mail in stored.get(MAILS) or [])


def mails_unqueued(stored: Document) -> bool:
    """Whether the report was kept but its mails not queued (a report made before mails were
    queued this way has no such mark, and was mailed then)."""
    return stored.get(MAILS_QUEUED) is False
