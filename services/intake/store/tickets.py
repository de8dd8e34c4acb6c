"""Tickets with their conversation and outbox; their numbers; how they are listed.

`tickets` grows with every ticket, and the local FerretDB answers only `_id` look-ups from an
index (any other filter reads the whole collection), so every list is served from documents
read by `_id`: the number -> ticket map (`ticket_numbers`, "<seq>"), per organisation a chunk
of a thousand numbers (`org_tickets`, "<org>|<seq // 1000>" holding "<seq>" -> ticket) and the
live set of tickets triage has not closed (`open_tickets`). Index entries are written before
the ticket, so a list can meet an entry whose ticket write never happened (a crash): it skips it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, IndexSpec
from shared.events import Event
from shared.outbox import OUTBOX, serialise
from shared.records import load_one, loaded

from ..domain import Message, Ticket

TICKETS = "tickets"
NUMBERS = "ticket_numbers"  # "<seq>" -> ticket id: by number, and every ticket newest first
ORG_TICKETS = "org_tickets"  # "<org>|<chunk>" -> {"t": {"<seq>": ticket id}}
OPEN_TICKETS = "open_tickets"  # ticket -> organisation, status, seq: the tickets not closed
STATUSES = "ticket_status"  # triage's status of each ticket, as its events tell it
COUNTERS = "counters"  # "ticket_seq": the last number given
OPENED_BY = "mail_opened_by"  # "<sender>|<hour>" -> tickets opened by mail (storm guard)
CHUNK = 1000
NUMBERS_PER_READ = 200  # ticket numbers asked for at once, newest first
CHUNKS_PER_READ = 20  # an organisation's chunks read at once, newest first
IDS_PER_READ = 500  # tickets or statuses asked for at once (FerretDB pushes `$in` down to 1,000)
CLOSED = "closed"

TICKET_INDEXES: list[IndexSpec] = [
    (TICKETS, [("seq", ASCENDING)], True),
    (TICKETS, [("number", ASCENDING)], True),
    (OPEN_TICKETS, [("organization_id", ASCENDING), ("status", ASCENDING)], False),
    (OPEN_TICKETS, [("status", ASCENDING), ("seq", DESCENDING)], False),
]


def chunk_key(org: str, seq: int) -> str:
    return f"{org}|{seq // CHUNK}"


class MongoTickets:
    def __init__(self, db: Database) -> None:
        self._tickets = db[TICKETS]
        self._numbers = db[NUMBERS]
        self._chunks = db[ORG_TICKETS]
        self._open = db[OPEN_TICKETS]
        self._statuses = db[STATUSES]
        self._counters = db[COUNTERS]
        self._opened_by = db[OPENED_BY]

    async def start(self) -> None:
        """Numbering and lists for a database from before them: the counter starts past the
        highest number stored, and the lists are built (one pass, once per database)."""
        if await self._counters.find_one({"_id": "lists"}) is not None:
            return
        highest = 0
        async for doc in self._tickets.find({}, {"seq": 1, "organization_id": 1}):
            highest = max(highest, int(doc["seq"]))
            await self._index_entry(str(doc["_id"]), int(doc["seq"]), doc.get("organization_id"))
        async for doc in self._statuses.find({"status": {"$ne": CLOSED}}):
            await self.record_status(str(doc["_id"]), str(doc["status"]), doc["at"])
        for marker in ({"_id": "ticket_seq", "n": highest}, {"_id": "lists"}):
            with contextlib.suppress(DuplicateKeyError):  # another replica was first
                await self._counters.insert_one(marker)

    async def next_seq(self) -> int:
        doc = await self._counters.find_one_and_update(
            {"_id": "ticket_seq"},
            {"$inc": {"n": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["n"]) if doc else 1

    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool:
        """Index the number, then insert; False when the ticket or its number exists."""
        await self._index(ticket)
        doc = _to_doc(ticket)
        doc[OUTBOX] = serialise(events)
        try:
            await self._tickets.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def _index(self, ticket: Ticket) -> None:
        await self._index_entry(ticket.id, ticket.seq, ticket.organization_id)

    async def _index_entry(self, ticket_id: str, seq: int, org: str | None) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._numbers.insert_one({"_id": str(seq), "ticket_id": ticket_id})
        if org:
            await self._chunks.update_one(
                {"_id": chunk_key(org, seq)}, {"$set": {f"t.{seq}": ticket_id}}, upsert=True
            )

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        return _from_doc(await self._tickets.find_one({"_id": ticket_id}))

    async def get_ticket_by_seq(self, seq: int) -> Ticket | None:
        entry = await self._numbers.find_one({"_id": str(seq)})
        ticket = await self.get_ticket(entry["ticket_id"]) if entry else None
        return ticket if ticket is not None and ticket.seq == seq else None

    async def list_tickets(
        self,
        organization_id: str | None,
        before_seq: int | None,
        limit: int,
        status: str | None = None,
    ) -> list[Ticket]:
        """Newest first, below `before_seq`; by organisation, by status, or both."""
        if status is not None and status != CLOSED:
            return await self._open_with(organization_id, status, before_seq, limit)
        top = before_seq - 1 if before_seq is not None else await self._highest()
        found: list[Ticket] = []
        async for batch in self._numbered_from(organization_id, top):
            while batch and len(found) < limit:
                # only as many tickets as the page still needs (more to sift by status)
                size = IDS_PER_READ if status is not None else limit - len(found)
                ids, batch = batch[:size], batch[size:]
                tickets = await self._tickets_of(ids)
                if status is not None:
                    closed = await self._with_status(tickets, status)
                    tickets = [t for t in tickets if t.id in closed]
                found.extend(tickets)
            if len(found) >= limit:
                break
        return found[:limit]

    async def _highest(self) -> int:
        doc = await self._counters.find_one({"_id": "ticket_seq"})
        return int(doc["n"]) if doc else 0

    async def _numbered_from(self, org: str | None, top: int) -> Any:
        """Ticket ids from number `top` down, in batches, newest first."""
        while top >= 1:
            if org is None:
                seqs = [str(s) for s in range(top, max(0, top - NUMBERS_PER_READ), -1)]
                docs = await self._numbers.find({"_id": {"$in": seqs}}).to_list(None)
                by_seq = {int(d["_id"]): d["ticket_id"] for d in docs}
                top -= NUMBERS_PER_READ
            else:
                chunks = range(top // CHUNK, max(-1, top // CHUNK - CHUNKS_PER_READ), -1)
                keys = [f"{org}|{c}" for c in chunks]
                docs = await self._chunks.find({"_id": {"$in": keys}}).to_list(None)
                by_seq = {int(s): t for d in docs for s, t in d.get("t", {}).items()}
                by_seq = {s: t for s, t in by_seq.items() if s <= top}
                top = (chunks[-1]) * CHUNK - 1
            yield [by_seq[s] for s in sorted(by_seq, reverse=True)]

    async def _tickets_of(self, ids: list[str]) -> list[Ticket]:
        """The tickets of these ids, in this order; ids without a ticket are skipped."""
        if not ids:
            return []
        docs = await self._tickets.find({"_id": {"$in": ids}}).to_list(None)
        by_id = {d["_id"]: d for d in docs}
        found = [{**by_id[i], "id": i} for i in ids if i in by_id]
        return loaded(Ticket, found, TICKETS, "intake")

    async def _with_status(self, tickets: list[Ticket], status: str) -> set[str]:
        ids = [t.id for t in tickets]
        docs = await self._statuses.find({"_id": {"$in": ids}}).to_list(None)
        return {d["_id"] for d in docs if d["status"] == status}

    async def _open_with(
        self, org: str | None, status: str, before_seq: int | None, limit: int
    ) -> list[Ticket]:
        query: dict[str, Any] = {"status": status}
        if org is not None:
            query["organization_id"] = org
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        rows = await self._open.find(query).sort("seq", DESCENDING).limit(limit).to_list(limit)
        return await self._tickets_of([r["_id"] for r in rows])

    async def status_of(self, ticket_id: str) -> str | None:
        doc = await self._statuses.find_one({"_id": ticket_id})
        return str(doc["status"]) if doc else None

    async def record_status(self, ticket_id: str, status: str, at: datetime) -> None:
        """Only triage's events write here, in the ticket's partition order: one writer."""
        await self._statuses.replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, "status": status, "at": at}, upsert=True
        )
        if status == CLOSED:
            await self._open.delete_one({"_id": ticket_id})
            return
        ticket = await self.get_ticket(ticket_id)
        if ticket is not None:
            row = {"organization_id": ticket.organization_id, "status": status, "seq": ticket.seq}
            await self._open.update_one({"_id": ticket_id}, {"$set": row}, upsert=True)

    async def count_opened(self, sender: str, hour: str) -> int:
        """Count one more ticket opened by this sender this hour; the count so far."""
        doc = await self._opened_by.find_one_and_update(
            {"_id": f"{sender}|{hour}"},
            {"$inc": {"n": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["n"]) if doc else 1

    async def append_message(
        self, ticket_id: str, message: Message, events: Sequence[Event[Any]]
    ) -> bool:
        result = await self._tickets.update_one(
            {"_id": ticket_id},
            {"$push": {"messages": message.model_dump(), OUTBOX: {"$each": serialise(events)}}},
        )
        return result.matched_count == 1

    async def add_feedback(
        self, ticket_id: str, feedback: Document, events: Sequence[Event[Any]]
    ) -> bool:
        result = await self._tickets.update_one(
            {"_id": ticket_id},
            {"$push": {"feedback": feedback, OUTBOX: {"$each": serialise(events)}}},
        )
        return result.matched_count == 1


def _to_doc(ticket: Ticket) -> Document:
    doc = ticket.model_dump(mode="python", exclude={"id"})
    doc["_id"] = ticket.id
    return doc


def _from_doc(doc: Document | None) -> Ticket | None:
    if doc is None:
        return None
    return load_one(Ticket, {**doc, "id": doc["_id"]}, TICKETS, "intake")
