"""Reporting's Kafka subscriptions: every helpdesk topic feeds the read models."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event

from . import service
from .domain import COUNTED_TYPES
from .facts import FACT_TYPES
from .service import ReportingDeps

SOURCES = ("intake", "triage", "sla", "problems")


def subscribe(consumer: EventConsumer, deps: ReportingDeps) -> None:
    async def on_event(event: Event[Any], delivery: Delivery) -> None:
        if event.type in COUNTED_TYPES:
            await service.count_event(event, delivery, deps)
        if event.type in FACT_TYPES:
            await service.record_fact(event, deps)

    for producer in SOURCES:
        consumer.route(producer, on_event, COUNTED_TYPES | FACT_TYPES)
