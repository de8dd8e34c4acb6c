"""Reporting's use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.bus import Delivery
from shared.clock import Clock
from shared.events import Event
from shared.outbox import OutboxRelay

from . import metrics, reports
from .domain import COUNTED_TYPES, add_into, increments
from .facts import FACT_SOURCES, FACT_TYPES, applied, merged
from .records import KIND_OF, RECORD_TYPES, record_id, recorded
from .store import MongoFactStore, MongoRecordStore, MongoScheduleStore, ReportingStore


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str
    timeout_seconds: float = 10.0


@dataclass
class ReportingDeps:
    store: ReportingStore
    facts: MongoFactStore
    records: MongoRecordStore
    clock: Clock
    schedules: MongoScheduleStore | None = None  # scheduled reports (not for a rebuild)
    relay: OutboxRelay | None = None
    smtp: Smtp | None = None
    loops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


PRODUCER_OF: dict[str, str] = {
    cls.event_type(): producer for producer, kinds in FACT_SOURCES.items() for cls in kinds
}


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
    by_organization: dict[str, int] = Field(default_factory=dict, description="Tickets opened")
    by_agent: dict[str, int] = Field(default_factory=dict, description="Assignments")
    assignments: int = 0


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


async def record_fact(event: Event[Any], deps: ReportingDeps) -> bool:
    """Lay the event into its topic's part of the ticket's facts; False when it changes
    nothing (a redelivery)."""
    producer = PRODUCER_OF.get(event.type)
    ticket_id = getattr(event.data, "ticket_id", None)
    if producer is None or ticket_id is None:
        return False
    part = await deps.facts.part(producer, ticket_id)
    after = applied(part, event)
    if after is None:
        return False
    await deps.facts.save_part(producer, ticket_id, after)
    return True


async def fact(ticket_id: str, deps: ReportingDeps) -> dict[str, Any] | None:
    parts = [await deps.facts.part(producer, ticket_id) for producer in FACT_SOURCES]
    if not any(parts):
        return None
    return {"ticket_id": ticket_id, **merged([p for p in parts if p])}


async def all_facts(deps: ReportingDeps) -> list[dict[str, Any]]:
    """Every ticket's fact document (a pass over the parts)."""
    by_topic = [await deps.facts.all_parts(producer) for producer in FACT_SOURCES]
    tickets = sorted(set().union(*by_topic))
    return [
        {"ticket_id": t, **merged([parts[t] for parts in by_topic if t in parts])} for t in tickets
    ]


async def report(
    name: str, start: datetime, end: datetime, group_by: str | None, deps: ReportingDeps
) -> tuple[reports.ReportInfo, list[dict[str, Any]]]:
    """A report, reading only what it is made from (the facts, the records it names)."""
    info = reports.info_of(name, group_by)
    inputs = reports.Inputs(
        facts=await all_facts(deps) if info.reads_facts else [],
        records={kind: await deps.records.all(kind) for kind in info.reads_records},
    )
    return reports.build(name, inputs, start, end, group_by)


async def record(event: Event[Any], deps: ReportingDeps) -> bool:
    """Lay a problem-management event into its record; False for a redelivery."""
    kind, key = KIND_OF[event.type], record_id(event)
    after = recorded(await deps.records.get(kind, key), event)
    if after is None:
        return False
    await deps.records.save(kind, key, after)
    return True


async def apply(event: Event[Any], delivery: Delivery, deps: ReportingDeps) -> None:
    """One event into every read model (the live consumer and the rebuild alike)."""
    if event.type in COUNTED_TYPES:
        await count_event(event, delivery, deps)
    if event.type in FACT_TYPES:
        await record_fact(event, deps)
    if event.type in RECORD_TYPES:
        await record(event, deps)
