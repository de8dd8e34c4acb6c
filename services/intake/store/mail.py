"""Mail: Message-IDs of ours and of what came in, the quarantine, and the notifications we send
with their delivery queue (shared.deliveries: each attempt leased to one replica)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING

from shared.db import Database, Document, IndexSpec, without_id
from shared.deliveries import Attempt, DeliveryQueue, RetryPolicy
from shared.events import Event
from shared.outbox import OUTBOX, push_events, serialise
from shared.paging import Order, Position, Slice
from shared.records import load_one, loaded

from ..domain.notify import Notification
from .keyed import insert_new as _insert_new

MAIL_IDS = "mail_message_ids"
SEEN = "inbound_seen"  # inbound Message-IDs, and each message by its content (its sighting)
UNSETTLED = {"ticket_id": None, "quarantine_id": None}
QUARANTINE = "quarantine"
RELEASES = "quarantine_releases"
NOTIFICATIONS = "notifications"
NOTES_BY = "notifications_by"  # "ticket_id:<id>" / "advisory_id:<id>" -> its notification ids
MAIL_QUEUE = "mail_queue"  # the notifications still to send (shared.deliveries)
IDS_PER_READ = 500  # an `$in` of ids the local store answers from its index
QUEUED = Order((("queued", ASCENDING, int),))  # a notification's place in its NOTES_BY entry

MAIL_INDEXES: list[IndexSpec] = [
    (QUARANTINE, [("received_at", DESCENDING)], False),
    (QUARANTINE, [("kind", ASCENDING), ("received_at", DESCENDING)], False),
    (MAIL_QUEUE, [("due_at", ASCENDING)], False),
]


class MongoMailbox:
    def __init__(self, db: Database) -> None:
        self._mail_ids = db[MAIL_IDS]
        self._seen = db[SEEN]
        self._quarantine = db[QUARANTINE]
        self._releases = db[RELEASES]

    async def remember_mail_id(self, mail_id: str, ticket_id: str) -> None:
        await _insert_new(self._mail_ids, {"_id": mail_id, "ticket_id": ticket_id})

    async def first_sight(self, mail_id: str, digest: str) -> Document | None:
        """None the first time an inbound Message-ID is seen (a keyed insert, with the digest
        of the message that came under it); else the record of the first one."""
        if await _insert_new(self._seen, {"_id": mail_id, "digest": digest}):
            return None
        return await self._seen.find_one({"_id": mail_id}) or {"digest": digest}

    async def claim_sighting(
        self, key: str, now: datetime, lease: timedelta, expiry: timedelta | None
    ) -> Document | None:
        """None: this delivery is the message's first (or the earlier one is older than
        `expiry`, or was cut short and its lease is over) and now holds it. Else the earlier
        delivery's record: its ticket_id or quarantine_id, or neither while it is received."""
        if await _insert_new(self._seen, {"_id": key, "at": now, **UNSETTLED}):
            return None
        lapsed: list[Document] = [{**UNSETTLED, "at": {"$lt": now - lease}}]
        if expiry is not None:
            lapsed.append({"at": {"$lt": now - expiry}})
        taken = await self._seen.find_one_and_update(
            {"_id": key, "$or": lapsed}, {"$set": {"at": now, **UNSETTLED}}
        )
        if taken is not None:
            return None
        return await self._seen.find_one({"_id": key}) or dict(UNSETTLED)

    async def settle_sighting(
        self, key: str, *, ticket_id: str | None = None, quarantined: str | None = None
    ) -> None:
        update = {"ticket_id": ticket_id, "quarantine_id": quarantined}
        await self._seen.update_one({"_id": key}, {"$set": update})

    async def unclaim_sighting(self, key: str) -> None:
        await self._seen.delete_one({"_id": key, **UNSETTLED})

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

    async def list_quarantine(
        self, limit: int, before: tuple[datetime, str] | None = None, kind: str | None = None
    ) -> list[Document]:
        """Newest first (by time received, then id); `before`: those after that one; `kind`:
        only those held for that reason."""
        query: Document = {"kind": kind} if kind else {}
        if before is not None:
            at, item_id = before
            query["$or"] = [
                {"received_at": {"$lt": at}},
                {"received_at": at, "_id": {"$lt": item_id}},
            ]
        found = self._quarantine.find(query, {"raw": 0, OUTBOX: 0})
        cursor = found.sort([("received_at", DESCENDING), ("_id", DESCENDING)])
        return await cursor.limit(limit).to_list(limit)


class MongoNotificationStore:
    """Notifications (the record the API shows, with its events) and their delivery queue."""

    def __init__(self, db: Database, policy: RetryPolicy) -> None:
        self._notes = db[NOTIFICATIONS]
        self._by = db[NOTES_BY]
        self.queue = DeliveryQueue(db, MAIL_QUEUE, policy)

    async def queue_notification(self, note: Notification, at: datetime) -> bool:
        """Record it, then queue it; False when it was recorded already. A repeat of a queueing
        that a crash cut short queues what is still pending."""
        for about in ("ticket_id", "advisory_id"):
            if key := getattr(note, about):
                await self._by.update_one(
                    {"_id": f"{about}:{key}"}, {"$addToSet": {"ids": note.id}}, upsert=True
                )
        created = await _insert_new(self._notes, {"_id": note.id, **note.model_dump()})
        stored = note if created else await self.get_notification(note.id)
        if stored is not None and stored.status == "pending":
            await self.queue.enqueue(note.id, {}, at)
        return created

    async def take(
        self, now: datetime, skip: Sequence[str]
    ) -> tuple[Attempt, Notification | None] | None:
        """The next due attempt, leased here, with its notification (None: never recorded)."""
        attempt = await self.queue.take(now, skip)
        if attempt is None:
            return None
        return attempt, await self.get_notification(attempt.id)

    async def get_notification(self, notification_id: str) -> Notification | None:
        doc = await self._notes.find_one({"_id": notification_id})
        return load_one(Notification, without_id(doc), NOTIFICATIONS, "intake") if doc else None

    async def record_attempt(self, note: Notification) -> None:
        await self._notes.update_one({"_id": note.id}, {"$set": note.model_dump(exclude={"id"})})

    async def mark_failed(self, note: Notification, events: Sequence[Event[Any]]) -> None:
        """Failed after it was sent (a bounce): recorded with its event."""
        await self._notes.update_one(
            {"_id": note.id},
            {"$set": note.model_dump(exclude={"id"}), **push_events(events)},
        )

    async def settle(
        self, attempt: Attempt, note: Notification, events: Sequence[Event[Any]]
    ) -> None:
        """Sent or given up: record it with its event, then take it off the queue."""
        await self._notes.update_one(
            {"_id": note.id},
            {"$set": note.model_dump(exclude={"id"}), **push_events(events)},
        )
        await self.queue.done(attempt)

    async def notifications_of(
        self, about: str, key: str, limit: int, after: Position | None = None
    ) -> Slice[Notification]:
        """A ticket's ("ticket_id") or an advisory's ("advisory_id") notifications in the order
        they were queued: their ids' places in its NOTES_BY entry, which only ever grows
        (`$addToSet` appends), so a place names the same notification on every read."""
        index = await self._by.find_one({"_id": f"{about}:{key}"})
        start = after[0] if after and isinstance(after[0], int) else 0
        ids = list(index["ids"])[start : start + limit + 1] if index else []
        wanted = ids[:limit]
        docs = [without_id(d) async for d in self._notes.find({"_id": {"$in": wanted}})]
        found = {n.id: n for n in loaded(Notification, docs, NOTIFICATIONS, "intake")}
        more = (start + len(wanted),) if len(ids) > len(wanted) else None
        return Slice([found[i] for i in wanted if i in found], more)
