"""Keyed once-only inserts: a caller-chosen `_id` under the unique `_id` index."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.db import Document


async def insert_new(collection: AsyncCollection[Document], doc: Document) -> bool:
    """Insert a document with a caller-chosen _id; False when that id exists already."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
