"""Triage's Kafka subscriptions: event -> use case."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.intake import TicketCreated, TicketCustomerReplied, TicketFeedbackReceived
from shared.events.problems import ProblemIncidentLinked, ReleasePublished, TicketSuggestions
from shared.events.sla import (
    SlaAtRisk,
    SlaBreached,
    SlaClockPaused,
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockStarted,
    SlaMet,
)

from .service import TriageDeps, problems
from .service.lifecycle import customer_replied, feedback
from .service.reading import sla_planned, triage_ticket
from .service.work import escalate

PLANNING = (SlaClockStarted, SlaClockReplanned, SlaClockPaused, SlaClockResumed, SlaMet)


def subscribe(consumer: EventConsumer, deps: TriageDeps) -> None:
    async def on_intake(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketCreated):
            await triage_ticket(event, deps)
        elif isinstance(event, TicketCustomerReplied):
            await customer_replied(event, deps)
        elif isinstance(event, TicketFeedbackReceived):
            await feedback(event, deps)

    async def on_sla(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, PLANNING):
            await sla_planned(event, deps)
        elif isinstance(event, SlaAtRisk | SlaBreached):
            data = event.data
            why = f"SLA {data.target} {'breached' if isinstance(event, SlaBreached) else 'at risk'}"
            await escalate(data.ticket_id, event.type, None, why, deps, cause=event)

    async def on_problems(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, ProblemIncidentLinked):
            await problems.problem_linked(event, deps)
        elif isinstance(event, TicketSuggestions):
            await problems.suggested(event, deps)
        elif isinstance(event, ReleasePublished):
            await problems.fix_released(event, deps)

    intake = (TicketCreated, TicketCustomerReplied, TicketFeedbackReceived)
    sla = (*PLANNING, SlaAtRisk, SlaBreached)
    consumer.route("intake", on_intake, {kind.event_type() for kind in intake})
    consumer.route("sla", on_sla, {kind.event_type() for kind in sla})
    told = (ProblemIncidentLinked, TicketSuggestions, ReleasePublished)
    consumer.route("problems", on_problems, {kind.event_type() for kind in told})
