"""The mailer on the real store: attempts leased to one replica, a dead replica's attempt taken
over, tries used up, queue entries whose notification was never recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.intake.domain.notify import Notification, Recipient, compose
from services.intake.service.notify import Mailer, SmtpConfig
from services.intake.store import NOTIFICATIONS, MongoNotificationStore
from shared.clock import FixedClock
from shared.db import Database

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# port 9 on loopback: nothing listens, so every real attempt fails at once
SMTP = SmtpConfig("127.0.0.1", 9, "support@x.example", 3, 0.0, timeout_seconds=5)


class Relay:
    @asynccontextmanager
    async def writing(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        yield


@pytest.fixture
async def db(isolated: Any) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}intake"]
    await client.close()


def note(ticket: str = "t1") -> Notification:
    to = Recipient("ann@acme.example", None, "en", ticket, "HD-000001", "Disk full")
    return compose(f"ack-{ticket}", "acknowledgement", to, {}, None, "x.example", START)


def mailer(notes: MongoNotificationStore, clock: FixedClock) -> Mailer:
    return Mailer(notes, Relay(), clock, SMTP, asyncio.Event())  # type: ignore[arg-type]


async def test_an_attempt_held_by_a_live_replica_is_left_alone(db: Database) -> None:
    notes, clock = MongoNotificationStore(db, SMTP.policy()), FixedClock(START)
    assert await notes.queue_notification(note(), START)
    assert await notes.take(START, []) is not None  # another replica is sending it
    clock.advance(timedelta(seconds=3))
    assert await mailer(notes, clock).send_due() == 0
    stored = await notes.get_notification("ack-t1")
    assert stored is not None and (stored.attempts, stored.status) == (0, "pending")


async def test_an_attempt_of_a_replica_that_died_counts_and_the_next_is_made(
    db: Database,
) -> None:
    notes, clock = MongoNotificationStore(db, SMTP.policy()), FixedClock(START)
    await notes.queue_notification(note(), START)
    assert await notes.take(START, []) is not None  # its replica dies mid-attempt
    clock.advance(timedelta(seconds=11))  # the lease (two SMTP timeouts) ran out
    await mailer(notes, clock).send_due()
    after = await notes.get_notification("ack-t1")
    assert after is not None and (after.attempts, after.status) == (2, "pending")
    assert after.last_error and "Connect" in after.last_error  # the refused try at port 9


async def test_when_every_attempt_is_used_up_it_is_reported_as_failed_once(db: Database) -> None:
    notes, clock = MongoNotificationStore(db, SMTP.policy()), FixedClock(START)
    await notes.queue_notification(note(), START)
    for _ in range(3):
        await mailer(notes, clock).send_due()  # one try a round (no backoff here)
    after = await notes.get_notification("ack-t1")
    assert after is not None and (after.status, after.attempts) == ("failed", 3)
    stored = await db[NOTIFICATIONS].find_one({"_id": "ack-t1"})
    assert stored is not None
    assert [e["type"] for e in stored["outbox"]] == ["notification.failed"]
    assert await notes.queue.pending() == 0
    assert not await notes.queue_notification(note(), START)  # a redelivery queues nothing
    assert await notes.queue.pending() == 0


async def test_a_queue_entry_whose_notification_was_never_recorded_is_dropped(
    db: Database,
) -> None:
    notes, clock = MongoNotificationStore(db, SMTP.policy()), FixedClock(START)
    await notes.queue.enqueue("ack-gone", {}, START)
    assert await mailer(notes, clock).send_due() == 0
    assert await notes.queue.pending() == 0


async def test_a_ticket_lists_its_notifications_in_the_order_queued_a_page_at_a_time(
    db: Database,
) -> None:
    notes = MongoNotificationStore(db, SMTP.policy())
    later = note().model_copy(update={"id": "reply-t1", "created_at": START + timedelta(1)})
    await notes.queue_notification(later, START)
    await notes.queue_notification(note(), START)
    await notes.queue_notification(note("t2"), START)
    first = await notes.notifications_of("ticket_id", "t1", 1)
    assert [n.id for n in first.items] == ["reply-t1"] and first.more_after is not None
    rest = await notes.notifications_of("ticket_id", "t1", 1, first.more_after)
    assert [n.id for n in rest.items] == ["ack-t1"] and rest.more_after is None
