"""SLA's Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.intake import TicketMessageAdded
from shared.events.triage import (
    TicketClosed,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketTriaged,
)

from .service import SlaDeps
from .service.clocks import on_event

CLOCK_INPUTS = (
    TicketTriaged,
    TicketStatusChanged,
    TicketResolved,
    TicketClosed,
    TicketReopened,
    TicketMessageAdded,
)


def subscribe(consumer: EventConsumer, deps: SlaDeps) -> None:
    async def on_ticket_event(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, CLOCK_INPUTS):
            await on_event(event, event.data.ticket_id, deps)

    kinds = {kind.event_type() for kind in CLOCK_INPUTS}
    consumer.route("triage", on_ticket_event, kinds - {TicketMessageAdded.event_type()})
    consumer.route("intake", on_ticket_event, {TicketMessageAdded.event_type()})
