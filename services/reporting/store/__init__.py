"""Reporting's storage: the facts and their access path by period (facts.py, fact_index.py),
the other read models (read_models.py) and the scheduled reports (schedules.py), with the
index of every query other than by `_id`.

The reports' period reads go by `_id` only (hour buckets, the live set of facts never closed,
then the facts by `_id`), so they cost the same on the local FerretDB, which serves only `_id`
from an index, as on MongoDB.
"""

from __future__ import annotations

from pymongo import ASCENDING

from shared.runtime import IndexSpec

from .fact_index import FACTS_BY_HOUR, FACTS_OPEN
from .facts import FACTS, SITES, MongoFactStore
from .read_models import (
    COUNTERS,
    RECORD_KINDS,
    MongoRecordStore,
    MongoReportingStore,
    RecordDocument,
    ReportingStore,
)
from .schedules import (
    GENERATED,
    MAIL_QUEUE,
    NEWEST_GENERATED,
    SCHEDULE_INDEXES,
    SCHEDULES,
    MongoScheduleStore,
    mails_unqueued,
    settled,
)

INDEXES: list[IndexSpec] = [
    # The facts by their times. The store reads them through facts_by_hour by `_id`; these
    # stay for an operator's period queries on MongoDB (mongosh, exports).
    (FACTS, [("fact.created_at", ASCENDING)], False),
    (FACTS, [("fact.resolved_at", ASCENDING)], False),
    (FACTS, [("fact.closed_at", ASCENDING)], False),
    # What shared.deliveries.DeliveryQueue.indexes() declares for the mail queue.
    (MAIL_QUEUE, [("due_at", ASCENDING)], False),
    *SCHEDULE_INDEXES,
]

__all__ = [
    "COUNTERS",
    "FACTS",
    "FACTS_BY_HOUR",
    "FACTS_OPEN",
    "GENERATED",
    "INDEXES",
    "MAIL_QUEUE",
    "NEWEST_GENERATED",
    "RECORD_KINDS",
    "SCHEDULES",
    "SITES",
    "MongoFactStore",
    "MongoRecordStore",
    "MongoReportingStore",
    "MongoScheduleStore",
    "RecordDocument",
    "ReportingStore",
    "mails_unqueued",
    "settled",
]
