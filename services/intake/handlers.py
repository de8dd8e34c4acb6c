"""Intake's Kafka subscriptions: event -> use case (here: what the customer is told)."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event
from shared.events.common import AuthorType, Visibility
from shared.events.intake import TicketCreated, TicketMessageAdded
from shared.events.problems import AdvisoryPublished, ReleasePublished
from shared.events.sla import SlaBreached
from shared.events.triage import (
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketTriaged,
)

from .service import IntakeDeps
from .service.notify import (
    notify_advisory,
    notify_release,
    notify_requester,
    queue_acknowledgement,
)


def subscribe(consumer: EventConsumer, deps: IntakeDeps) -> None:
    async def on_own(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketCreated):
            await queue_acknowledgement(event, deps)
        elif isinstance(event, TicketMessageAdded):
            data = event.data
            if data.author_type is AuthorType.AGENT and data.visibility is Visibility.PUBLIC:
                context = {"body": data.body, "author": data.author.name}
                note_id = f"reply-{data.message_id}"
                await notify_requester(event, data.ticket_id, note_id, "reply", context, deps)

    async def on_triage(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, TicketTriaged):
            await deps.store.record_status(event.data.ticket_id, event.data.status, event.time)
        elif isinstance(event, TicketStatusChanged):
            await deps.store.record_status(event.data.ticket_id, event.data.to_status, event.time)
        elif isinstance(event, TicketResolved):
            if event.data.resolution_code == "fix_released":
                return  # resolved by a release: its notice (notify_release) told them
            context = {"resolution": event.data.resolution}
            note_id = f"resolved-{event.id}"
            await notify_requester(event, event.data.ticket_id, note_id, "resolved", context, deps)
        elif isinstance(event, TicketReopened):
            context = {"reason": event.data.reason}
            note_id = f"reopened-{event.id}"
            await notify_requester(event, event.data.ticket_id, note_id, "reopened", context, deps)

    async def on_sla(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, SlaBreached):  # one apology per target and ticket
            data = event.data
            note_id = f"breach-{data.ticket_id}-{data.target}"
            context = {"target": data.target}
            await notify_requester(event, data.ticket_id, note_id, "sla_breach", context, deps)

    consumer.route("intake", on_own, {TicketCreated.event_type(), TicketMessageAdded.event_type()})
    from_triage = (TicketTriaged, TicketStatusChanged, TicketResolved, TicketReopened)
    consumer.route("triage", on_triage, {kind.event_type() for kind in from_triage})

    async def on_problems(event: Event[Any], _: Delivery) -> None:
        if isinstance(event, AdvisoryPublished):
            await notify_advisory(event, deps)
        elif isinstance(event, ReleasePublished):
            await notify_release(event, deps)

    consumer.route("sla", on_sla, {SlaBreached.event_type()})
    told = {AdvisoryPublished.event_type(), ReleasePublished.event_type()}
    consumer.route("problems", on_problems, told)
