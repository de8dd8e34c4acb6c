"""Problems' storage: records (store/records.py) and the incident index with what recurrence
detection and suggestions share between replicas (store/incidents.py)."""

from shared.db import IndexSpec

from .incidents import (
    CANDIDATES,
    INCIDENT_INDEXES,
    INCIDENTS,
    LEFT,
    RECENTLY_RESOLVED,
    RESOLUTIONS,
    SUGGESTIONS,
    WINDOW,
    Incident,
    InWindow,
    MongoIncidentStore,
    Resolution,
)
from .records import (
    ADVISORIES,
    CHANGES,
    KNOWLEDGE,
    LATEST_CLOSED,
    LATEST_PUBLISHED,
    LATEST_RELEASED,
    NEWEST_ID,
    NOTICES_DUE,
    PROBLEMS,
    RECORD_INDEXES,
    RECORDS,
    RELEASES,
    REPORTS,
    SEQUENCES,
    MongoProblemsStore,
)

OUTBOX_COLLECTIONS = [*RECORDS, CANDIDATES, SUGGESTIONS]
STORE_INDEXES: list[IndexSpec] = [*RECORD_INDEXES, *INCIDENT_INDEXES]

__all__ = [
    "ADVISORIES",
    "CANDIDATES",
    "CHANGES",
    "INCIDENTS",
    "INCIDENT_INDEXES",
    "KNOWLEDGE",
    "LATEST_CLOSED",
    "LATEST_PUBLISHED",
    "LATEST_RELEASED",
    "LEFT",
    "NEWEST_ID",
    "NOTICES_DUE",
    "OUTBOX_COLLECTIONS",
    "PROBLEMS",
    "RECENTLY_RESOLVED",
    "RECORDS",
    "RECORD_INDEXES",
    "RELEASES",
    "REPORTS",
    "RESOLUTIONS",
    "SEQUENCES",
    "STORE_INDEXES",
    "SUGGESTIONS",
    "WINDOW",
    "InWindow",
    "Incident",
    "MongoIncidentStore",
    "MongoProblemsStore",
    "Resolution",
]
