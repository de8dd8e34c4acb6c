"""Processed event ids under a unique index: the same event delivered twice is applied once."""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from .db import PROCESSED_EVENTS, Database


class Inbox:
    def __init__(self, db: Database) -> None:
        self._events = db[PROCESSED_EVENTS]

    async def seen(self, event_id: str) -> bool:
        return await self._events.find_one({"_id": event_id}, {"_id": 1}) is not None

    async def record(self, event_id: str, event_type: str, at: datetime) -> None:
        try:
            await self._events.insert_one({"_id": event_id, "type": event_type, "at": at})
        except DuplicateKeyError:
            pass  # another replica finished the same event first: already recorded
