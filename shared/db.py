"""MongoDB wiring: one AsyncMongoClient per process, one database per service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure

from .settings import ServiceSettings

Document = dict[str, Any]
Database = AsyncDatabase[Document]
IndexSpec = tuple[str, list[tuple[str, int]], bool]
"""(collection, keys, unique): an index a service declares at start-up."""

PROCESSED_EVENTS = "processed_events"
LEASES = "leases"


def make_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    # No timeoutMS: FerretDB rejects the maxTimeMS it adds to some commands.
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        connect=False,
    )


async def ensure_indexes(db: Database, specs: Iterable[IndexSpec]) -> None:
    """Create (collection, keys, unique) indexes; idempotent, run at start-up."""
    for collection, keys, unique in specs:
        await db[collection].create_index(keys, unique=unique)


async def ping(db: Database) -> bool:
    try:
        await db.command("ping")
    except (ConnectionFailure, OperationFailure):
        return False
    return True


def is_duplicate(exc: Exception) -> bool:
    """FerretDB may report a unique-index clash from an update as a generic error."""
    if isinstance(exc, DuplicateKeyError):
        return True
    return isinstance(exc, OperationFailure) and (
        exc.code == 11000 or "duplicate key" in str(exc).lower()
    )


def without_id(doc: Document) -> Document:
    """A stored document as its model sees it: the _id duplicates the model's own key."""
    return {k: v for k, v in doc.items() if k != "_id"}


def bson_dates(value: Any) -> Any:
    """Dates as midnight UTC datetimes, anywhere in a document: BSON has no date-only type, and
    pydantic reads such a datetime back into a `date` field."""
    if isinstance(value, dict):
        return {k: bson_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bson_dates(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value
