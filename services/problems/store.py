"""Problems' storage: the incident index, problems, knowledge (known errors and articles),
deficiency reports, changes, releases, advisories, announced candidates and suggestions.

Records that people and consumers change are revisioned (shared.revisions): each change claims
the next revision by a keyed insert and carries its events in the record's outbox. Ids come
from a keyed sequence ("PRB-000001"). The incident index, which grows with every ticket, is
split into 64 collections (FerretDB finds an _id by scanning, see shared.db.partition_of).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from shared.db import (
    Database,
    Document,
    bson_dates,
    existing,
    partition_names,
    partition_of,
    without_id,
)
from shared.events import Event
from shared.outbox import OUTBOX, serialise
from shared.revisions import Revisioned
from shared.runtime import IndexSpec

from .domain.changes import Change
from .domain.knowledge import Knowledge
from .domain.notices import Advisory, Release
from .domain.problems import Problem
from .domain.reports import DeficiencyReport

INCIDENTS = "incidents"
INCIDENT_PARTS = 64
PROBLEMS = "problems"
KNOWLEDGE = "knowledge"
REPORTS = "deficiency_reports"
CHANGES = "changes"
RELEASES = "releases"
ADVISORIES = "advisories"
CANDIDATES = "candidates"  # candidate id -> its incidents, with the announcement in the outbox
ANNOUNCED = "announced_incidents"  # ticket id -> the candidate that named it (keyed claims)
INCIDENT_MARKS = "incident_marks"  # ticket id -> when triage said incident (a window's worth)
SUGGESTIONS = "suggestions"  # ticket id -> what was suggested, with the event in the outbox
SEQUENCES = "sequences"  # "<prefix>-<n>" taken
RESOLUTIONS = "resolutions"  # ticket id -> how it was resolved (split like the incidents)

RECORDS = [PROBLEMS, KNOWLEDGE, REPORTS, CHANGES, RELEASES, ADVISORIES]
OUTBOX_COLLECTIONS = [*RECORDS, CANDIDATES, SUGGESTIONS]
INDEXES: list[IndexSpec] = []  # every read is by _id or a pass over a small collection


class Incident(BaseModel):
    """A ticket as the incident index keeps it (from ticket.created, completed by triage and
    by the resolution)."""

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


class ProblemsStore(Protocol):
    async def next_id(self, prefix: str) -> str: ...
    async def index_incident(self, incident: Incident) -> bool: ...
    async def get_incident(self, ticket_id: str) -> Incident | None: ...
    async def incidents_since(self, since: datetime) -> list[Incident]: ...
    async def mark_incident(self, ticket_id: str, at: datetime) -> bool: ...
    async def is_marked(self, ticket_id: str) -> bool: ...
    async def marked_since(self, since: datetime) -> list[tuple[str, datetime]]: ...
    async def purge_marks(self, before: datetime) -> int: ...
    async def remember_resolution(self, resolution: Resolution) -> None: ...
    async def resolutions(self, ticket_ids: Sequence[str]) -> dict[str, Resolution]: ...
    async def resolved_since(self, since: datetime) -> list[Resolution]: ...
    async def announce_candidate(
        self, candidate_id: str, ticket_ids: list[str], events: Sequence[Event[Any]]
    ) -> bool: ...
    async def announced(self) -> list[list[str]]: ...
    async def save_suggestions(
        self, ticket_id: str, view: Document, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def get_suggestions(self, ticket_id: str) -> Document | None: ...


def _records(db: Database) -> dict[str, Revisioned[Any]]:
    models: dict[str, type[BaseModel]] = {
        PROBLEMS: Problem,
        KNOWLEDGE: Knowledge,
        REPORTS: DeficiencyReport,
        CHANGES: Change,
        RELEASES: Release,
        ADVISORIES: Advisory,
    }
    return {name: Revisioned(db, name, model, encode=bson_dates) for name, model in models.items()}


class MongoProblemsStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.records = _records(db)
        self._taken: dict[str, int] = {}

    async def recover(self) -> int:
        return sum([await r.recover() for r in self.records.values()])

    async def purge_claims(self) -> int:
        return sum([await r.purge() for r in self.records.values()])

    async def next_id(self, prefix: str) -> str:
        """The next free "<prefix>-000123": a keyed insert, so replicas never share one."""
        n = self._taken.get(prefix)
        if n is None:
            n = await self._db[SEQUENCES].count_documents({"prefix": prefix})
        while True:
            n += 1
            key = f"{prefix}-{n:06d}"
            try:
                await self._db[SEQUENCES].insert_one({"_id": key, "prefix": prefix})
            except DuplicateKeyError:
                continue
            self._taken[prefix] = n
            return key

    async def all(self, collection: str) -> list[Document]:
        """Every record of a (small) collection, without outboxes."""
        docs: list[Document] = await self._db[collection].find({}, {OUTBOX: 0}).to_list(None)
        return [without_id(d) for d in docs]

    def _incidents(self, ticket_id: str) -> Any:
        return self._db[partition_of(INCIDENTS, ticket_id, INCIDENT_PARTS)]

    async def index_incident(self, incident: Incident) -> bool:
        try:
            await self._incidents(incident.ticket_id).insert_one(
                {"_id": incident.ticket_id, **incident.model_dump()}
            )
        except DuplicateKeyError:
            return False
        return True

    async def get_incident(self, ticket_id: str) -> Incident | None:
        doc = await self._incidents(ticket_id).find_one({"_id": ticket_id})
        return Incident.model_validate(without_id(doc)) if doc else None

    async def incidents_since(self, since: datetime) -> list[Incident]:
        """The incidents created since `since`, oldest first (a pass, at start-up)."""
        found: list[Incident] = []
        names = await existing(self._db, partition_names(INCIDENTS, INCIDENT_PARTS))
        for name in names:
            docs = await self._db[name].find({"created_at": {"$gte": since}}).to_list(None)
            found.extend(Incident.model_validate(without_id(d)) for d in docs)
        return sorted(found, key=lambda i: (i.created_at, i.ticket_id))

    async def mark_incident(self, ticket_id: str, at: datetime) -> bool:
        """Note once that triage classified the ticket as an incident, and when: how every
        replica learns of the incidents the others took."""
        try:
            await self._db[INCIDENT_MARKS].insert_one({"_id": ticket_id, "at": at})
        except DuplicateKeyError:
            return False
        return True

    async def is_marked(self, ticket_id: str) -> bool:
        return await self._db[INCIDENT_MARKS].find_one({"_id": ticket_id}) is not None

    async def marked_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """The incidents marked since `since`, oldest first (the marks hold about a recurrence
        window: older ones are purged)."""
        docs = await self._db[INCIDENT_MARKS].find({"at": {"$gte": since}}).to_list(None)
        return sorted(((str(d["_id"]), d["at"]) for d in docs), key=lambda m: (m[1], m[0]))

    async def purge_marks(self, before: datetime) -> int:
        dropped = await self._db[INCIDENT_MARKS].delete_many({"at": {"$lt": before}})
        return dropped.deleted_count

    def _resolutions(self, ticket_id: str) -> Any:
        return self._db[partition_of(RESOLUTIONS, ticket_id, INCIDENT_PARTS)]

    async def remember_resolution(self, resolution: Resolution) -> None:
        """The latest resolution of a ticket (a reopened ticket may be resolved again)."""
        await self._resolutions(resolution.ticket_id).replace_one(
            {"_id": resolution.ticket_id},
            {"_id": resolution.ticket_id, **resolution.model_dump()},
            upsert=True,
        )

    async def resolutions(self, ticket_ids: Sequence[str]) -> dict[str, Resolution]:
        found = {}
        for ticket_id in ticket_ids:
            doc = await self._resolutions(ticket_id).find_one({"_id": ticket_id})
            if doc is not None:
                found[ticket_id] = Resolution.model_validate(without_id(doc))
        return found

    async def resolved_since(self, since: datetime) -> list[Resolution]:
        """The resolutions recorded since `since`, oldest first (a pass over them)."""
        found: list[Resolution] = []
        for name in await existing(self._db, partition_names(RESOLUTIONS, INCIDENT_PARTS)):
            docs = await self._db[name].find({"at": {"$gte": since}}).to_list(None)
            found.extend(Resolution.model_validate(without_id(d)) for d in docs)
        return sorted(found, key=lambda r: (r.at, r.ticket_id))

    async def announce_candidate(
        self, candidate_id: str, ticket_ids: list[str], events: Sequence[Event[Any]]
    ) -> bool:
        """Claim each incident for this candidate, then record it with its announcement. False
        when another candidate (another replica's grouping) has one of them already: the
        claims taken are given back and nothing is announced."""
        taken: list[str] = []
        for ticket_id in ticket_ids:
            try:
                await self._db[ANNOUNCED].insert_one({"_id": ticket_id, "candidate": candidate_id})
            except DuplicateKeyError:
                for claimed in taken:
                    await self._db[ANNOUNCED].delete_one(
                        {"_id": claimed, "candidate": candidate_id}
                    )
                return False
            taken.append(ticket_id)
        doc = {"_id": candidate_id, "ticket_ids": ticket_ids, OUTBOX: serialise(events)}
        try:
            await self._db[CANDIDATES].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def announced(self) -> list[list[str]]:
        """The incidents of every candidate announced, candidate by candidate."""
        docs = await self._db[CANDIDATES].find({}, {"ticket_ids": 1}).to_list(None)
        return [[str(t) for t in d.get("ticket_ids", [])] for d in docs]

    async def save_suggestions(
        self, ticket_id: str, view: Document, events: Sequence[Event[Any]]
    ) -> bool:
        doc = {"_id": ticket_id, **view, OUTBOX: serialise(events)}
        try:
            await self._db[SUGGESTIONS].insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_suggestions(self, ticket_id: str) -> Document | None:
        doc = await self._db[SUGGESTIONS].find_one({"_id": ticket_id}, {OUTBOX: 0})
        return without_id(doc) if doc else None
