"""Intake's Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.intake import TicketCreated

from .service import IntakeDeps
from .service.notify import queue_acknowledgement


def subscribe(consumer: EventConsumer, deps: IntakeDeps) -> None:
    async def on_own(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketCreated):
            await queue_acknowledgement(event, deps)

    consumer.route("intake", on_own, {TicketCreated.event_type()})
