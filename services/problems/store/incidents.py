"""The incident index and what recurrence detection and suggestions keep across replicas.

Grow with tickets, read only by `_id` (one, or an `$in` list):
- `incidents`: ticket id -> the ticket as the index keeps it (from ticket.created).
- `resolutions`: ticket id -> how it was last resolved; also read by `at` once, at start.
- `suggestions`: ticket id -> what was suggested, with its event in the outbox.
Small live sets, which every replica reads by time (indexed):
- `incident_window`: ticket id -> {at, candidate, claimed_at}: the tickets triage classified
  as incidents within the detection window (and an hour), removed by `_id` as they leave it.
  `candidate` is who claimed the incident: an atomic conditional update makes it one.
- `recently_resolved`: ticket id -> {at}: the last hour's resolutions, so every replica's
  resolved-ticket detector learns the others' without reading all resolutions.
And `candidates`: candidate id -> its incidents, with the announcement in the outbox (one per
problem candidate: read by `_id`).

A document that does not load is that ticket's problem: reads of several leave it out (logged
with its id and counted, shared.records), a read of one refuses it (BadRecord).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec, without_id
from shared.events import Event
from shared.events.problems import Suggestion
from shared.outbox import OUTBOX, serialise
from shared.records import load_one, loaded

from ..metrics import SERVICE

INCIDENTS = "incidents"
WINDOW = "incident_window"
CANDIDATES = "candidates"
RESOLUTIONS = "resolutions"
RECENTLY_RESOLVED = "recently_resolved"
SUGGESTIONS = "suggestions"

INCIDENT_INDEXES: list[IndexSpec] = [
    (WINDOW, [("at", ASCENDING)], False),  # every replica's detector, per incident
    (RECENTLY_RESOLVED, [("at", ASCENDING)], False),  # every replica, every 30 s
    (RESOLUTIONS, [("at", ASCENDING)], False),  # the resolved tickets' detector, at start
]
LEFT = "(left the window)"


class Incident(BaseModel):
    """A ticket as the incident index keeps it (from ticket.created)."""

    ticket_id: str
    number: str
    subject: str
    description: str = ""
    organization_id: str | None = None
    site: str | None = None
    asset: str | None = None
    product: str | None = None
    version: str | None = None
    tokens: list[str] = Field(default_factory=list)
    created_at: datetime


class Resolution(BaseModel):
    """How a ticket was resolved (from ticket.resolved), for suggestions to later tickets."""

    ticket_id: str
    number: str | None
    resolution: str
    at: datetime


class Suggested(BaseModel):
    """What was suggested for a ticket (ticket.suggestions), as kept."""

    ticket_id: str
    suggestions: list[Suggestion]


class _Entered(BaseModel):
    """An incident of the detection window, as stored."""

    ticket_id: str = Field(validation_alias="_id")
    at: datetime
    candidate: str | None = None
    claimed_at: datetime | None = None


@dataclass(frozen=True)
class InWindow:
    """An incident of the detection window: since when, and the candidate that claimed it."""

    ticket_id: str
    at: datetime
    candidate: str | None
    claimed_at: datetime | None


class MongoIncidentStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._incidents = db[INCIDENTS]
        self._window = db[WINDOW]
        self._resolutions = db[RESOLUTIONS]
        self._recent = db[RECENTLY_RESOLVED]

    async def index_incident(self, incident: Incident) -> bool:
        doc = {"_id": incident.ticket_id, **incident.model_dump()}
        return await _insert_new(self._db, INCIDENTS, doc)

    async def get_incident(self, ticket_id: str) -> Incident | None:
        """The incident; BadRecord when its document does not load."""
        doc = await self._incidents.find_one({"_id": ticket_id})
        return load_one(Incident, doc, INCIDENTS, SERVICE) if doc else None

    async def get_incidents(self, ticket_ids: Sequence[str]) -> dict[str, Incident]:
        """The incidents that are kept and load (one that does not is counted and left out)."""
        if not ticket_ids:
            return {}
        docs = await self._incidents.find({"_id": {"$in": list(ticket_ids)}}).to_list(None)
        return {i.ticket_id: i for i in loaded(Incident, docs, INCIDENTS, SERVICE)}

    async def enter_window(self, ticket_id: str, at: datetime) -> bool:
        """The ticket is an incident (triage said so) from `at`; False when it was already."""
        doc = {"_id": ticket_id, "at": at, "candidate": None, "claimed_at": None}
        return await _insert_new(self._db, WINDOW, doc)

    async def in_window(self, ticket_id: str) -> bool:
        return await self._window.find_one({"_id": ticket_id}, {"_id": 1}) is not None

    async def window_since(self, since: datetime) -> list[InWindow]:
        """The incidents that entered the window since `since`, oldest first."""
        docs = await self._window.find({"at": {"$gte": since}}).to_list(None)
        found = [
            InWindow(e.ticket_id, e.at, e.candidate, e.claimed_at)
            for e in loaded(_Entered, docs, WINDOW, SERVICE)
        ]
        return sorted(found, key=lambda e: (e.at, e.ticket_id))

    async def leave_window(self, before: datetime) -> int:
        """Incidents that entered before `before` leave the live set (by `_id`)."""
        docs = await self._window.find({"at": {"$lt": before}}, {"_id": 1}).to_list(None)
        if not docs:
            return 0
        gone = await self._window.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
        return gone.deleted_count

    async def claim(
        self, candidate_id: str, ticket_ids: Sequence[str], now: datetime
    ) -> str | None:
        """Claim every incident for the candidate; None when all are its own now. Else the
        candidate that holds one (or LEFT), after giving back what this call took.

        Each claim is `update_one({_id, candidate: null}, ...)`: of two candidates wanting one
        incident exactly one gets it. Claims go in id order, so two candidates contending for
        several incidents meet at the first they share and one of them gets them all. A claim
        by the same candidate counts as its own (a crash before the candidate was recorded)."""
        taken: list[str] = []
        for ticket_id in sorted(ticket_ids):
            done = await self._window.update_one(
                {"_id": ticket_id, "candidate": {"$in": [None, candidate_id]}},
                {"$set": {"candidate": candidate_id, "claimed_at": now}},
            )
            if done.matched_count == 0:
                holder = await self._window.find_one({"_id": ticket_id})
                await self.give_back(candidate_id, taken)
                return str(holder["candidate"]) if holder else LEFT
            taken.append(ticket_id)
        return None

    async def give_back(self, candidate_id: str, ticket_ids: Sequence[str]) -> None:
        """The candidate's claims on these incidents are withdrawn (no one else's)."""
        if ticket_ids:
            await self._window.update_many(
                {"_id": {"$in": list(ticket_ids)}, "candidate": candidate_id},
                {"$set": {"candidate": None, "claimed_at": None}},
            )

    async def record_candidate(
        self, candidate_id: str, ticket_ids: list[str], at: datetime, events: Sequence[Event[Any]]
    ) -> bool:
        """The candidate with its announcement, once; False when it was recorded already."""
        doc = {"_id": candidate_id, "ticket_ids": ticket_ids, "at": at, OUTBOX: serialise(events)}
        return await _insert_new(self._db, CANDIDATES, doc)

    async def recorded_candidates(self, candidate_ids: Sequence[str]) -> set[str]:
        if not candidate_ids:
            return set()
        query = {"_id": {"$in": list(candidate_ids)}}
        return {
            str(d["_id"]) for d in await self._db[CANDIDATES].find(query, {"_id": 1}).to_list(None)
        }

    async def remember_resolution(self, resolution: Resolution) -> None:
        """The latest resolution of a ticket (a reopened ticket may be resolved again), and a
        note in the live set for the other replicas."""
        doc = {"_id": resolution.ticket_id, **resolution.model_dump()}
        await self._resolutions.replace_one({"_id": resolution.ticket_id}, doc, upsert=True)
        await self._recent.replace_one(
            {"_id": resolution.ticket_id}, {"at": resolution.at}, upsert=True
        )

    async def resolutions(self, ticket_ids: Sequence[str]) -> dict[str, Resolution]:
        if not ticket_ids:
            return {}
        docs = await self._resolutions.find({"_id": {"$in": list(ticket_ids)}}).to_list(None)
        return {r.ticket_id: r for r in loaded(Resolution, docs, RESOLUTIONS, SERVICE)}

    async def resolved_since(self, since: datetime) -> list[str]:
        """The tickets resolved since `since`, from all resolutions (a pass, at start)."""
        docs = await self._resolutions.find({"at": {"$gte": since}}, {"_id": 1}).to_list(None)
        return [str(d["_id"]) for d in docs]

    async def recently_resolved(self, since: datetime) -> list[str]:
        """The tickets resolved since `since`, from the live set (the last hour or so)."""
        docs = await self._recent.find({"at": {"$gte": since}}, {"_id": 1}).to_list(None)
        return [str(d["_id"]) for d in docs]

    async def forget_resolved(self, before: datetime) -> int:
        docs = await self._recent.find({"at": {"$lt": before}}, {"_id": 1}).to_list(None)
        if not docs:
            return 0
        gone = await self._recent.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
        return gone.deleted_count

    async def save_suggestions(
        self, ticket_id: str, view: Document, events: Sequence[Event[Any]]
    ) -> bool:
        doc = {"_id": ticket_id, **view, OUTBOX: serialise(events)}
        return await _insert_new(self._db, SUGGESTIONS, doc)

    async def get_suggestions(self, ticket_id: str) -> Document | None:
        """What was suggested, as stored."""
        doc = await self._db[SUGGESTIONS].find_one({"_id": ticket_id}, {OUTBOX: 0})
        return without_id(doc) if doc else None

    async def suggested(self, ticket_id: str) -> Suggested | None:
        """What was suggested; BadRecord when its document does not load."""
        doc = await self._db[SUGGESTIONS].find_one({"_id": ticket_id}, {OUTBOX: 0})
        return load_one(Suggested, doc, SUGGESTIONS, SERVICE) if doc else None


async def _insert_new(db: Database, collection: str, doc: Document) -> bool:
    try:
        await db[collection].insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
