"""Calendars, their assignments and policy overrides: small collections an admin changes,
read whole (the service caches them for a few seconds). A stored record that no longer loads
is that record's problem (decision 002: logged, counted in helpdesk_sla_bad_records_total): it
is left out of what is read and reported with its error, so one bad calendar never stops the
clocks of every other."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from shared.db import Database, Document, without_id
from shared.records import BadRecord, load_one

from ..domain import Calendar, Policy

CALENDARS = "calendars"
ASSIGNMENTS = "calendar_assignments"  # "organization:<id>" / "queue:<key>" -> calendar id
POLICIES = "policy_overrides"
# a stored interval "08:00:00-17:00:00"; before times had to be without an offset, some were
# stored with one ("08:00:00+02:00", "08:00:00-05:00", "08:00:00Z"), which splitting on "-" broke
TIME = r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z|[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
SPAN = re.compile(rf"{TIME}-{TIME}")
SERVICE = "sla"
M = TypeVar("M")


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """The records that loaded, and the id and error of each that did not."""

    records: list[M]
    unreadable: dict[str, str] = field(default_factory=dict)


class SetupStore(Protocol):
    async def calendars(self) -> Loaded[Calendar]: ...
    async def put_calendar(self, calendar: Calendar) -> None: ...
    async def assignments(self) -> dict[str, str]: ...
    async def assign(self, key: str, calendar_id: str | None) -> None: ...
    async def policy_overrides(self) -> Loaded[Policy]: ...
    async def put_policy(self, policy: Policy) -> None: ...


class MongoSetupStore:
    def __init__(self, db: Database) -> None:
        self._calendars = db[CALENDARS]
        self._assignments = db[ASSIGNMENTS]
        self._policies = db[POLICIES]

    async def calendars(self) -> Loaded[Calendar]:
        docs = await self._calendars.find().to_list(None)
        return _each(
            docs, lambda d: load_one(Calendar, _calendar_from(without_id(d)), CALENDARS, SERVICE)
        )

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

    async def policy_overrides(self) -> Loaded[Policy]:
        docs = await self._policies.find().to_list(None)
        return _each(docs, lambda d: load_one(Policy, without_id(d), POLICIES, SERVICE))

    async def put_policy(self, policy: Policy) -> None:
        doc = {"_id": policy.id, **policy.model_dump(mode="json")}
        await self._policies.replace_one({"_id": policy.id}, doc, upsert=True)


def _each(docs: list[Document], load: Callable[[Document], M]) -> Loaded[M]:
    loaded = Loaded[M]([])
    for doc in docs:
        try:
            loaded.records.append(load(doc))
        except BadRecord as exc:  # logged and counted by load_one
            loaded.unreadable[str(doc["_id"])] = exc.detail
    return loaded


def _calendar_to(doc: Document) -> Document:
    """Opening hours as "08:00:00-17:00:00" strings: FerretDB stores no nested arrays."""
    doc["hours"] = {day: [f"{a}-{b}" for a, b in spans] for day, spans in doc["hours"].items()}
    return doc


def _calendar_from(doc: Document) -> Document:
    """The stored document as the model reads it; one of another shape is left for the model
    to refuse, naming what is wrong."""
    hours = doc.get("hours")
    if isinstance(hours, dict):
        doc["hours"] = {
            day: [_span(s) for s in spans] if isinstance(spans, list) else spans
            for day, spans in hours.items()
        }
    return doc


def _span(stored: object) -> object:
    """The two times of a stored interval. An offset stored with a time is dropped: the
    planner always read such a time as wall-clock time in the calendar's zone (combining it
    with the zone replaced the offset), so those calendars keep meaning what they did."""
    found = SPAN.fullmatch(stored) if isinstance(stored, str) else None
    return [found[1], found[2]] if found else stored
