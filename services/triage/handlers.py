"""Triage's Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.intake import TicketCreated, TicketCustomerReplied

from . import service
from .service import TriageDeps


def subscribe(consumer: EventConsumer, deps: TriageDeps) -> None:
    async def on_intake(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketCreated):
            await service.triage_ticket(event, deps)
        elif isinstance(event, TicketCustomerReplied):
            await service.customer_replied(event, deps)

    wanted = {TicketCreated.event_type(), TicketCustomerReplied.event_type()}
    consumer.route("intake", on_intake, wanted)
