"""The mailer's bookkeeping with an in-memory queue: claims, crashed attempts, orphans, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.domain.notify import Notification, Recipient, compose
from services.intake.service.notify import ORPHAN_AFTER, Mailer, SmtpConfig
from shared.clock import FixedClock
from shared.events import Event

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Relay:
    @asynccontextmanager
    async def writing(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        yield


class MemoryNotes:
    def __init__(self) -> None:
        self.notes: dict[str, Notification] = {}
        self.queue: dict[str, datetime] = {}
        self.claims: dict[str, datetime] = {}
        self.events: list[Event[Any]] = []

    async def queue_notification(self, note: Notification, at: datetime) -> bool:
        self.queue.setdefault(note.id, at)
        return self.notes.setdefault(note.id, note) is note

    async def due_notifications(self, now: datetime) -> list[tuple[str, datetime]]:
        return [(key, at) for key, at in self.queue.items() if at <= now]

    async def claim_attempt(self, notification_id: str, attempt: int, now: datetime) -> bool:
        return self.claims.setdefault(f"{notification_id}#{attempt}", now) is now

    async def claimed_at(self, notification_id: str, attempt: int) -> datetime | None:
        return self.claims.get(f"{notification_id}#{attempt}")

    async def unqueue(self, notification_id: str) -> None:
        self.queue.pop(notification_id, None)

    async def get_notification(self, notification_id: str) -> Notification | None:
        return self.notes.get(notification_id)

    async def settle(self, note: Notification, events: Sequence[Event[Any]]) -> None:
        self.notes[note.id] = note
        self.events.extend(events)
        self.queue.pop(note.id, None)

    async def retry_later(self, note: Notification, at: datetime) -> None:
        self.notes[note.id] = note
        self.queue[note.id] = at

    async def notifications_of(self, about: str, key: str) -> list[Notification]:
        return [n for n in self.notes.values() if getattr(n, about) == key]


def note(ticket: str = "t1") -> Notification:
    to = Recipient("ann@acme.example", None, "en", ticket, "HD-000001", "Disk full")
    return compose(f"ack-{ticket}", "acknowledgement", to, {}, None, "x.example", START)


def mailer(notes: MemoryNotes, clock: FixedClock, attempts: int = 3) -> Mailer:
    # port 9 on loopback: nothing listens, so every real attempt fails at once
    smtp = SmtpConfig("127.0.0.1", 9, "support@x.example", attempts, 0.0, timeout_seconds=5)
    return Mailer(notes, Relay(), clock, smtp, asyncio.Event())  # type: ignore[arg-type]


async def test_an_attempt_held_by_a_live_replica_is_left_alone() -> None:
    notes, clock = MemoryNotes(), FixedClock(START)
    await notes.queue_notification(note(), START)
    await notes.claim_attempt("ack-t1", 1, START)
    clock.advance(timedelta(seconds=3))
    await mailer(notes, clock).send_due()
    assert notes.notes["ack-t1"].attempts == 0 and notes.notes["ack-t1"].status == "pending"
    assert list(notes.claims) == ["ack-t1#1"]


async def test_an_attempt_of_a_replica_that_died_counts_as_failed_and_the_next_is_made() -> None:
    notes, clock = MemoryNotes(), FixedClock(START)
    await notes.queue_notification(note(), START)
    await notes.claim_attempt("ack-t1", 1, START)
    clock.advance(timedelta(seconds=11))
    await mailer(notes, clock).send_due()
    after = notes.notes["ack-t1"]
    assert sorted(notes.claims) == ["ack-t1#1", "ack-t1#2"]
    assert after.attempts == 2 and after.status == "pending"  # the refused try at port 9
    assert after.last_error and "attempt interrupted" not in after.last_error


async def test_when_every_attempt_is_used_up_it_is_reported_as_failed() -> None:
    notes, clock = MemoryNotes(), FixedClock(START)
    await notes.queue_notification(note(), START)
    for _ in range(3):
        await mailer(notes, clock).send_due()
    after = notes.notes["ack-t1"]
    assert (after.status, after.attempts) == ("failed", 3)
    assert [e.type for e in notes.events] == ["notification.failed"]
    assert notes.queue == {}


@pytest.mark.parametrize(("age", "kept"), [(timedelta(seconds=5), True), (ORPHAN_AFTER, False)])
async def test_a_queue_entry_without_its_notification_is_dropped_only_once_it_is_old(
    age: timedelta, kept: bool
) -> None:
    notes, clock = MemoryNotes(), FixedClock(START)
    notes.queue["ack-gone"] = START
    clock.advance(age)
    await mailer(notes, clock).send_due()
    assert ("ack-gone" in notes.queue) is kept
