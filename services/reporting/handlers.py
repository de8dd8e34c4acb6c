"""Reporting's Kafka subscriptions: every helpdesk topic feeds the read models."""

from __future__ import annotations

from typing import Any

from shared.bus import Delivery, EventConsumer
from shared.events import Event

from . import service
from .domain import COUNTED_TYPES
from .facts import FACT_TYPES
from .records import RECORD_TYPES
from .service import ReportingDeps

SOURCES = ("intake", "triage", "sla", "problems")


def subscribe(consumer: EventConsumer, deps: ReportingDeps) -> None:
    async def on_event(event: Event[Any], delivery: Delivery) -> None:
        await service.apply(event, delivery, deps)

    for producer in SOURCES:
        consumer.route(producer, on_event, COUNTED_TYPES | FACT_TYPES | RECORD_TYPES)
