"""Calendars, their assignments and policy overrides: small collections an admin changes,
read whole (the service caches them for a few seconds)."""

from __future__ import annotations

from typing import Protocol

from shared.db import Database, Document, without_id

from ..domain import Calendar, Policy

CALENDARS = "calendars"
ASSIGNMENTS = "calendar_assignments"  # "organization:<id>" / "queue:<key>" -> calendar id
POLICIES = "policy_overrides"


class SetupStore(Protocol):
    async def calendars(self) -> list[Calendar]: ...
    async def put_calendar(self, calendar: Calendar) -> None: ...
    async def assignments(self) -> dict[str, str]: ...
    async def assign(self, key: str, calendar_id: str | None) -> None: ...
    async def policy_overrides(self) -> list[Policy]: ...
    async def put_policy(self, policy: Policy) -> None: ...


class MongoSetupStore:
    def __init__(self, db: Database) -> None:
        self._calendars = db[CALENDARS]
        self._assignments = db[ASSIGNMENTS]
        self._policies = db[POLICIES]

    async def calendars(self) -> list[Calendar]:
        docs = await self._calendars.find().to_list(None)
        return [Calendar.model_validate(_calendar_from(without_id(d))) for d in docs]

    async def put_calendar(self, calendar: Calendar) -> None:
        doc = {"_id": calendar.id, **_calendar_to(calendar.model_dump(mode="json"))}
        await self._calendars.replace_one({"_id": calendar.id}, doc, upsert=True)

    async def assignments(self) -> dict[str, str]:
        return {
            str(d["_id"]): d["calendar_id"] for d in await self._assignments.find().to_list(None)
        }

    async def assign(self, key: str, calendar_id: str | None) -> None:
        if calendar_id is None:
            await self._assignments.delete_one({"_id": key})
            return
        doc = {"_id": key, "calendar_id": calendar_id}
        await self._assignments.replace_one({"_id": key}, doc, upsert=True)

    async def policy_overrides(self) -> list[Policy]:
        docs = await self._policies.find().to_list(None)
        return [Policy.model_validate(without_id(d)) for d in docs]

    async def put_policy(self, policy: Policy) -> None:
        doc = {"_id": policy.id, **policy.model_dump(mode="json")}
        await self._policies.replace_one({"_id": policy.id}, doc, upsert=True)


def _calendar_to(doc: Document) -> Document:
    """Opening hours as "08:00:00-17:00:00" strings: FerretDB stores no nested arrays."""
    doc["hours"] = {day: [f"{a}-{b}" for a, b in spans] for day, spans in doc["hours"].items()}
    return doc


def _calendar_from(doc: Document) -> Document:
    doc["hours"] = {day: [s.split("-") for s in spans] for day, spans in doc["hours"].items()}
    return doc
