"""Problems' Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.intake import TicketCreated
from shared.events.triage import TicketResolved, TicketTriaged

from .service import ProblemsDeps, incidents, recurrence


def subscribe(consumer: EventConsumer, deps: ProblemsDeps) -> None:
    async def on_intake(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketCreated):
            await incidents.index_incident(event, deps)

    async def on_triage(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketTriaged):
            await recurrence.triaged(event, deps)
        elif isinstance(event, TicketResolved):
            await incidents.resolved(event, deps)

    consumer.route("intake", on_intake, {TicketCreated.event_type()})
    consumer.route("triage", on_triage, {TicketTriaged.event_type(), TicketResolved.event_type()})
