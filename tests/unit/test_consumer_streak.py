"""A consumer that dead-letters every message it reads says so: its streak of dead letters is a
gauge, and past the configured threshold /readyz's consumer check fails; one message handled
puts it right."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY

from shared.bus import Delivery, EventConsumer
from shared.clock import FixedClock
from shared.events import Event
from shared.events.common import Channel, Person
from shared.events.intake import TicketCreated, TicketCreatedData
from shared.settings import ServiceSettings

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Broker:
    def __init__(self) -> None:
        self.published: list[tuple[bytes, str]] = []

    async def publish(self, value: bytes, topic: str, **_: Any) -> None:
        self.published.append((value, topic))


class Inbox:
    def __init__(self) -> None:
        self.ids: set[str] = set()

    async def seen(self, event_id: str) -> bool:
        return event_id in self.ids

    async def record(self, event_id: str, event_type: str, at: datetime) -> None:
        self.ids.add(event_id)


def created(n: int) -> bytes:
    data = TicketCreatedData(
        ticket_id=f"t-{n}",
        number=f"HD-{n:06d}",
        subject="Disk full",
        channel=Channel.WEB,
        requester=Person(email="a@b.example"),
        created_at=NOW,
    )
    return TicketCreated.create(source="intake", subject=f"t-{n}", time=NOW, data=data).to_json()


async def test_a_consumer_dead_lettering_everything_is_reported_until_it_handles_one() -> None:
    settings = ServiceSettings(
        service_name="streaktest",
        HELPDESK_HANDLER_ATTEMPTS=1,
        HELPDESK_RETRY_BACKOFF_SECONDS=0,
        HELPDESK_DEAD_LETTER_STREAK_UNREADY=3,
    )
    broker = Broker()
    consumer = EventConsumer(broker, settings, Inbox(), FixedClock(NOW))  # type: ignore[arg-type]
    broken = True

    async def handle(event: Event[Any], delivery: Delivery) -> None:
        if broken:
            raise KeyError("a stored record that does not load")

    consumer.route("intake", handle, {"ticket.created"})
    where = Delivery("helpdesk.intake.v1", 0, 0)

    def gauge() -> float | None:
        return REGISTRY.get_sample_value(
            "helpdesk_consumer_dead_letter_streak", {"service": "streaktest"}
        )

    for n in range(2):
        await consumer.process(where, b"k", created(n))
    assert not consumer.failing and gauge() == 2
    await consumer.process(where, b"k", b"{not json")  # malformed counts too
    assert consumer.failing and gauge() == 3 and len(broker.published) == 3
    broken = False
    await consumer.process(where, b"k", created(9))
    assert not consumer.failing and gauge() == 0
