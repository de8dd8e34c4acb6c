"""SLA's Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.triage import TicketTriaged

from . import service
from .service import SlaDeps


def subscribe(consumer: EventConsumer, deps: SlaDeps) -> None:
    async def on_triage(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketTriaged):
            await service.start_clock(event, deps)

    consumer.route("triage", on_triage, {TicketTriaged.event_type()})
