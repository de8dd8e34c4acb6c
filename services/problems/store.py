"""Problems' storage: the incident index."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database
from shared.runtime import IndexSpec

INCIDENTS = "incidents"

INDEXES: list[IndexSpec] = [
    (INCIDENTS, [("tokens", ASCENDING)], False),
    (INCIDENTS, [("created_at", ASCENDING)], False),
]


class Incident(BaseModel):
    ticket_id: str
    number: str
    subject: str
    organization_id: str | None
    asset: str | None
    product: str | None
    tokens: list[str]
    created_at: datetime


class ProblemsStore(Protocol):
    async def index_incident(self, incident: Incident) -> bool: ...
    async def get_incident(self, ticket_id: str) -> Incident | None: ...
    async def sharing_tokens(self, tokens: list[str], limit: int) -> list[Incident]: ...


class MongoProblemsStore:
    def __init__(self, db: Database) -> None:
        self._incidents = db[INCIDENTS]

    async def index_incident(self, incident: Incident) -> bool:
        try:
            await self._incidents.insert_one({"_id": incident.ticket_id, **incident.model_dump()})
        except DuplicateKeyError:
            return False
        return True

    async def get_incident(self, ticket_id: str) -> Incident | None:
        doc = await self._incidents.find_one({"_id": ticket_id})
        return Incident.model_validate(doc) if doc else None

    async def sharing_tokens(self, tokens: list[str], limit: int) -> list[Incident]:
        if not tokens:
            return []
        cursor = self._incidents.find({"tokens": {"$in": tokens}}).sort("created_at", -1)
        return [Incident.model_validate(d) for d in await cursor.limit(limit).to_list(limit)]
