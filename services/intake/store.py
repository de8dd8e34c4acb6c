"""Intake's storage: tickets with their conversation and outbox, numbered by a unique index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from bson import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, without_id
from shared.events import Event
from shared.outbox import OUTBOX, push_events, serialise
from shared.runtime import IndexSpec

from .domain import Contract, Message, Organization, Ticket, key_of
from .domain.notify import Notification

TICKETS = "tickets"
ORGANIZATIONS = "organizations"
CONTRACTS = "contracts"
CONTRACT_KEYS = "contract_keys"  # "number:<KEY>" / "licence:<KEY>" -> contract id, by _id
MAIL_IDS = "mail_message_ids"
SEEN = "inbound_seen"  # Message-IDs of inbound mail seen at least once
QUARANTINE = "quarantine"
RELEASES = "quarantine_releases"
NOTIFICATIONS = "notifications"
MAIL_QUEUE = "mail_queue"
MAIL_CLAIMS = "mail_claims"
OPENED_BY = "mail_opened_by"  # "<sender>|<hour>" -> tickets opened by mail (storm guard)
NUMBERS = "ticket_numbers"  # "<seq>" -> ticket id: look-ups by number by _id alone
STATUSES = "ticket_status"  # triage's status of each ticket, as its events tell it
BLOBS = "blobs"  # raw messages and attachment contents, in chunks: "<blob>" head, "<blob>#n"
BLOB_CHUNK = 255 * 1024

INDEXES: list[IndexSpec] = [
    (TICKETS, [("seq", ASCENDING)], True),
    (TICKETS, [("number", ASCENDING)], True),
    (TICKETS, [("organization_id", ASCENDING), ("seq", DESCENDING)], False),
    (ORGANIZATIONS, [("email_domains", ASCENDING)], False),
    (CONTRACTS, [("organization_id", ASCENDING)], False),
    (NOTIFICATIONS, [("ticket_id", ASCENDING)], False),
]


class IntakeStore(Protocol):
    async def highest_seq(self) -> int: ...
    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool: ...
    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...
    async def get_ticket_by_seq(self, seq: int) -> Ticket | None: ...
    async def list_tickets(
        self,
        organization_id: str | None,
        before_seq: int | None,
        limit: int,
        status: str | None = None,
    ) -> list[Ticket]: ...
    async def status_of(self, ticket_id: str) -> str | None: ...
    async def count_opened(self, sender: str, hour: str) -> int: ...
    async def record_status(self, ticket_id: str, status: str, at: datetime) -> None: ...
    async def insert_organization(self, org: Organization) -> bool: ...
    async def get_organization(self, org_id: str) -> Organization | None: ...
    async def organization_for_domain(self, domain: str) -> Organization | None: ...
    async def organization_for_address(self, email: str) -> Organization | None: ...
    async def list_organizations(self, limit: int) -> list[Organization]: ...
    async def insert_contract(self, contract: Contract) -> str | None: ...
    async def contract_by_key(self, kind: str, key: str) -> Contract | None: ...
    async def contracts_of(self, org_id: str) -> list[Contract]: ...
    async def append_message(
        self, ticket_id: str, message: Message, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def add_feedback(
        self, ticket_id: str, feedback: Document, events: Sequence[Event[Any]]
    ) -> bool: ...
    async def remember_mail_id(self, mail_id: str, ticket_id: str) -> None: ...
    async def ticket_for_mail_id(self, mail_id: str) -> str | None: ...
    async def first_sight(self, mail_id: str) -> bool: ...
    async def quarantine(self, item: Document, events: Sequence[Event[Any]]) -> None: ...
    async def list_quarantine(self, limit: int) -> list[Document]: ...
    async def get_quarantined(self, item_id: str) -> Document | None: ...
    async def claim_release(self, item_id: str, by: str, at: datetime) -> bool: ...
    async def unclaim_release(self, item_id: str) -> None: ...
    async def mark_released(self, item_id: str, ticket_id: str, by: str, at: datetime) -> None: ...


class NotificationStore(Protocol):
    async def queue_notification(self, note: Notification, at: datetime) -> bool: ...
    async def due_notifications(self, now: datetime) -> list[tuple[str, datetime]]: ...
    async def claim_attempt(self, notification_id: str, attempt: int, now: datetime) -> bool: ...
    async def claimed_at(self, notification_id: str, attempt: int) -> datetime | None: ...
    async def unqueue(self, notification_id: str) -> None: ...
    async def get_notification(self, notification_id: str) -> Notification | None: ...
    async def settle(self, note: Notification, events: Sequence[Event[Any]]) -> None: ...
    async def retry_later(self, note: Notification, at: datetime) -> None: ...
    async def notifications_of(self, about: str, key: str) -> list[Notification]: ...


class MongoIntakeStore:
    def __init__(self, db: Database) -> None:
        self._tickets = db[TICKETS]
        self._statuses = db[STATUSES]
        self._numbers = db[NUMBERS]
        self._opened_by = db[OPENED_BY]
        self._orgs = db[ORGANIZATIONS]
        self._contracts = db[CONTRACTS]
        self._keys = db[CONTRACT_KEYS]
        self._mail_ids = db[MAIL_IDS]
        self._seen = db[SEEN]
        self._quarantine = db[QUARANTINE]
        self._releases = db[RELEASES]
        self._notes = db[NOTIFICATIONS]
        self._queue = db[MAIL_QUEUE]
        self._claims = db[MAIL_CLAIMS]

    async def highest_seq(self) -> int:
        doc = await self._tickets.find_one({}, {"seq": 1}, sort=[("seq", DESCENDING)])
        return int(doc["seq"]) if doc else 0

    async def insert_ticket(self, ticket: Ticket, events: Sequence[Event[Any]]) -> bool:
        """Insert with its number; False when another process took that number first."""
        doc = _to_doc(ticket)
        doc[OUTBOX] = serialise(events)
        try:
            await self._tickets.insert_one(doc)
        except DuplicateKeyError:
            return False
        await _insert_new(self._numbers, {"_id": str(ticket.seq), "ticket_id": ticket.id})
        return True

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        return _from_doc(await self._tickets.find_one({"_id": ticket_id}))

    async def get_ticket_by_seq(self, seq: int) -> Ticket | None:
        """By the number's alias (an _id look-up); by the indexed field when a crash right after
        the ticket's insert left no alias (FerretDB scans for that)."""
        alias = await self._numbers.find_one({"_id": str(seq)})
        if alias is not None:
            return await self.get_ticket(str(alias["ticket_id"]))
        return _from_doc(await self._tickets.find_one({"seq": seq}))

    async def list_tickets(
        self,
        organization_id: str | None,
        before_seq: int | None,
        limit: int,
        status: str | None = None,
    ) -> list[Ticket]:
        query: dict[str, Any] = {}
        if status is not None:
            having = await self._statuses.find({"status": status}).to_list(None)
            query["_id"] = {"$in": [d["_id"] for d in having]}
        if organization_id is not None:
            query["organization_id"] = organization_id
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        docs = await self._tickets.find(query).sort("seq", DESCENDING).limit(limit).to_list(limit)
        return [t for t in map(_from_doc, docs) if t is not None]

    async def count_opened(self, sender: str, hour: str) -> int:
        """Count one more ticket opened by this sender this hour; the count so far. A guard,
        not a ledger: FerretDB may lose an increment when one sender's mails race."""
        doc = await self._opened_by.find_one_and_update(
            {"_id": f"{sender}|{hour}"},
            {"$inc": {"n": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["n"]) if doc else 1

    async def status_of(self, ticket_id: str) -> str | None:
        doc = await self._statuses.find_one({"_id": ticket_id})
        return str(doc["status"]) if doc else None

    async def record_status(self, ticket_id: str, status: str, at: datetime) -> None:
        """Only triage's events write here, in the ticket's partition order: one writer."""
        await self._statuses.replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, "status": status, "at": at}, upsert=True
        )

    async def insert_organization(self, org: Organization) -> bool:
        return await _insert_new(self._orgs, {"_id": org.id, **org.model_dump()})

    async def get_organization(self, org_id: str) -> Organization | None:
        doc = await self._orgs.find_one({"_id": org_id})
        return Organization.model_validate(without_id(doc)) if doc else None

    async def organization_for_domain(self, domain: str) -> Organization | None:
        doc = await self._orgs.find_one({"email_domains": domain}, sort=[("_id", ASCENDING)])
        return Organization.model_validate(without_id(doc)) if doc else None

    async def organization_for_address(self, email: str) -> Organization | None:
        doc = await self._orgs.find_one({"contacts.email": email}, sort=[("_id", ASCENDING)])
        return Organization.model_validate(without_id(doc)) if doc else None

    async def list_organizations(self, limit: int) -> list[Organization]:
        docs = await self._orgs.find().sort("_id", ASCENDING).limit(limit).to_list(limit)
        return [Organization.model_validate(without_id(d)) for d in docs]

    async def insert_contract(self, contract: Contract) -> str | None:
        """Store a contract with its number and licence keys, each unique; else what clashes.

        The keys go first, each a uniquely keyed insert, so two contracts posted at once cannot
        both take one licence key; a clash takes back the keys this call took.
        """
        keys = [("number", contract.number)] + [("licence", k) for k in contract.licence_keys]
        taken: list[str] = []
        clash: str | None = None
        for kind, key in keys:
            key_id = f"{kind}:{key_of(key)}"
            if await _insert_new(self._keys, {"_id": key_id, "contract_id": contract.id}):
                taken.append(key_id)
                continue
            owner = await self._keys.find_one({"_id": key_id})
            if owner is not None and owner["contract_id"] != contract.id:
                clash = f"{kind} {key} belongs to contract {owner['contract_id']}"
                break
        if clash is None:
            doc = {"_id": contract.id, **contract.model_dump(mode="json")}
            if not await _insert_new(self._contracts, doc):
                clash = f"contract {contract.id} exists already"
        if clash is not None and taken:
            for key_id in taken:  # one by _id: the only filter FerretDB v1 answers from an index
                await self._keys.delete_one({"_id": key_id})
        return clash

    async def contract_by_key(self, kind: str, key: str) -> Contract | None:
        owner = await self._keys.find_one({"_id": f"{kind}:{key_of(key)}"})
        if owner is None:
            return None
        doc = await self._contracts.find_one({"_id": owner["contract_id"]})
        return Contract.model_validate(without_id(doc)) if doc else None

    async def contracts_of(self, org_id: str) -> list[Contract]:
        docs = await self._contracts.find({"organization_id": org_id}).to_list(None)
        return [Contract.model_validate(without_id(d)) for d in docs]

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

    async def remember_mail_id(self, mail_id: str, ticket_id: str) -> None:
        await _insert_new(self._mail_ids, {"_id": mail_id, "ticket_id": ticket_id})

    async def first_sight(self, mail_id: str) -> bool:
        """True the first time an inbound Message-ID is seen (a keyed insert)."""
        return await _insert_new(self._seen, {"_id": mail_id})

    async def ticket_for_mail_id(self, mail_id: str) -> str | None:
        doc = await self._mail_ids.find_one({"_id": mail_id})
        return str(doc["ticket_id"]) if doc else None

    async def quarantine(self, item: Document, events: Sequence[Event[Any]]) -> None:
        await self._quarantine.insert_one({**item, OUTBOX: serialise(events)})

    async def get_quarantined(self, item_id: str) -> Document | None:
        return await self._quarantine.find_one({"_id": item_id}, {OUTBOX: 0})

    async def claim_release(self, item_id: str, by: str, at: datetime) -> bool:
        """One release per message, even when two agents press at once: a keyed insert."""
        return await _insert_new(self._releases, {"_id": item_id, "by": by, "at": at})

    async def unclaim_release(self, item_id: str) -> None:
        await self._releases.delete_one({"_id": item_id})

    async def mark_released(self, item_id: str, ticket_id: str, by: str, at: datetime) -> None:
        update = {"released": True, "ticket_id": ticket_id, "released_by": by, "released_at": at}
        await self._quarantine.update_one({"_id": item_id}, {"$set": update})

    async def list_quarantine(self, limit: int) -> list[Document]:
        cursor = self._quarantine.find({}, {"raw": 0, OUTBOX: 0}).sort("received_at", -1)
        return await cursor.limit(limit).to_list(limit)

    async def queue_notification(self, note: Notification, at: datetime) -> bool:
        """Queue entry first: a crash before the notification leaves an entry the mailer drops."""
        await _insert_new(self._queue, {"_id": note.id, "at": at})
        return await _insert_new(self._notes, {"_id": note.id, **note.model_dump()})

    async def due_notifications(self, now: datetime) -> list[tuple[str, datetime]]:
        entries = await self._queue.find().to_list(None)  # small: only what is still to send
        return [(str(e["_id"]), e["at"]) for e in entries if e["at"] <= now]

    async def claim_attempt(self, notification_id: str, attempt: int, now: datetime) -> bool:
        return await _insert_new(self._claims, {"_id": f"{notification_id}#{attempt}", "at": now})

    async def claimed_at(self, notification_id: str, attempt: int) -> datetime | None:
        doc = await self._claims.find_one({"_id": f"{notification_id}#{attempt}"})
        return doc["at"] if doc else None

    async def unqueue(self, notification_id: str) -> None:
        await self._queue.delete_one({"_id": notification_id})

    async def get_notification(self, notification_id: str) -> Notification | None:
        doc = await self._notes.find_one({"_id": notification_id})
        return Notification.model_validate(without_id(doc)) if doc else None

    async def settle(self, note: Notification, events: Sequence[Event[Any]]) -> None:
        """Sent or given up: record it with its event, and take it off the queue."""
        await self._notes.update_one(
            {"_id": note.id},
            {"$set": note.model_dump(exclude={"id"}), **push_events(events)},
        )
        await self._queue.delete_one({"_id": note.id})

    async def retry_later(self, note: Notification, at: datetime) -> None:
        await self._notes.update_one({"_id": note.id}, {"$set": note.model_dump(exclude={"id"})})
        await self._queue.update_one({"_id": note.id}, {"$set": {"at": at}})

    async def notifications_of(self, about: str, key: str) -> list[Notification]:
        """A ticket's ("ticket_id") or an advisory's ("advisory_id") notifications."""
        docs = await self._notes.find({about: key}).sort("created_at", 1).to_list(None)
        return [Notification.model_validate(without_id(d)) for d in docs]


def attachment_blob(attachment_id: str) -> str:
    return f"attachment:{attachment_id}"


def original_blob(message_id: str) -> str:
    return f"original:{message_id}"


def held_blob(quarantine_id: str) -> str:
    return f"quarantine:{quarantine_id}"


class BlobStore(Protocol):
    async def put_blob(self, blob_id: str, data: bytes, meta: Document) -> None: ...
    async def get_blob(self, blob_id: str) -> bytes | None: ...


class MongoBlobs:
    """Bytes of any size in chunks well under a document's limit, read back by _id alone
    (FerretDB answers only _id look-ups without a scan). The head is written last, so a blob
    without its head is an interrupted write and reads as missing."""

    def __init__(self, db: Database) -> None:
        self._blobs = db[BLOBS]

    async def put_blob(self, blob_id: str, data: bytes, meta: Document) -> None:
        pieces = range(0, len(data), BLOB_CHUNK)
        for n, start in enumerate(pieces):
            chunk = {"_id": f"{blob_id}#{n}", "data": Binary(data[start : start + BLOB_CHUNK])}
            await self._blobs.replace_one({"_id": chunk["_id"]}, chunk, upsert=True)
        head = {**meta, "_id": blob_id, "size": len(data), "chunks": len(pieces)}
        await self._blobs.replace_one({"_id": blob_id}, head, upsert=True)

    async def get_blob(self, blob_id: str) -> bytes | None:
        head = await self._blobs.find_one({"_id": blob_id})
        if head is None:
            return None
        parts = []
        for n in range(int(head["chunks"])):
            chunk = await self._blobs.find_one({"_id": f"{blob_id}#{n}"})
            if chunk is None:
                return None
            parts.append(bytes(chunk["data"]))
        return b"".join(parts)


async def _insert_new(collection: AsyncCollection[Document], doc: Document) -> bool:
    """Insert a document with a caller-chosen _id; False when that id exists already."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def _to_doc(ticket: Ticket) -> Document:
    doc = ticket.model_dump(mode="python", exclude={"id"})
    doc["_id"] = ticket.id
    return doc


def _from_doc(doc: Document | None) -> Ticket | None:
    if doc is None:
        return None
    return Ticket.model_validate({**doc, "id": doc["_id"]})
