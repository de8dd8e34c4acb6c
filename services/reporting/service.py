"""Reporting's use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from shared.bus import Delivery
from shared.clock import Clock
from shared.events import Event

from . import metrics
from .domain import add_into, increments
from .store import ReportingStore


@dataclass
class ReportingDeps:
    store: ReportingStore
    clock: Clock


class Summary(BaseModel):
    tickets_created: int = 0
    tickets_triaged: int = 0
    tickets_resolved: int = 0
    tickets_closed: int = 0
    tickets_reopened: int = 0
    open_tickets: int = Field(default=0, description="created - closed")
    sla_clocks_started: int = 0
    sla_breaches: int = 0
    sla_met: int = 0
    by_channel: dict[str, int] = Field(default_factory=dict)
    by_priority: dict[str, int] = Field(default_factory=dict)
    by_queue: dict[str, int] = Field(default_factory=dict)


async def count_event(event: Event[Any], delivery: Delivery, deps: ReportingDeps) -> None:
    incs = increments(event)
    if not incs:
        return
    day = event.time.date()
    if await deps.store.count(day, delivery.topic, delivery.partition, delivery.offset, incs):
        metrics.EVENTS_COUNTED.labels(event.type).inc()


async def summary(since: date | None, deps: ReportingDeps) -> Summary:
    total: dict[str, Any] = {}
    for shard in await deps.store.counter_shards(since):
        add_into(total, shard.get("c", {}))
    view = Summary.model_validate(total)
    view.open_tickets = view.tickets_created - view.tickets_closed
    return view
