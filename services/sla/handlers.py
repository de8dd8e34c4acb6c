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

from .service import SlaDeps, clocks


def subscribe(consumer: EventConsumer, deps: SlaDeps) -> None:
    async def on_triage(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketTriaged):
            await clocks.triaged(event, deps)
        elif isinstance(event, TicketStatusChanged):
            await clocks.status_changed(event, deps)
        elif isinstance(event, TicketResolved | TicketClosed):
            await clocks.ended(event, deps)
        elif isinstance(event, TicketReopened):
            await clocks.reopened(event, deps)

    async def on_intake(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketMessageAdded):
            await clocks.message_added(event, deps)

    triage = (TicketTriaged, TicketStatusChanged, TicketResolved, TicketClosed, TicketReopened)
    consumer.route("triage", on_triage, {kind.event_type() for kind in triage})
    consumer.route("intake", on_intake, {TicketMessageAdded.event_type()})
