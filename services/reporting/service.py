"""Reporting's use cases: events into the read models, and the reports made from them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from shared.bus import Delivery
from shared.clock import Clock
from shared.deliveries import DeliveryQueue
from shared.errors import Conflict
from shared.events import Event
from shared.events.intake import TicketCreated
from shared.outbox import OutboxRelay
from shared.versioned import MAX_WRITE_ATTEMPTS

from . import metrics, reports
from .domain import COUNTED_TYPES, add_into, increments, stream_key
from .facts import FACT_TYPES, FactDocument, Position, applied
from .reads import READS, incidents_of
from .records import KIND_OF, RECORD_TYPES, record_id, recorded
from .store import (
    MongoFactStore,
    MongoRecordStore,
    MongoScheduleStore,
    RecordDocument,
    ReportingStore,
)

D = TypeVar("D", FactDocument, RecordDocument)


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
    mail_queue: DeliveryQueue | None = None
    loops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


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
    for day in await deps.store.counter_days(since):
        add_into(total, day.get("c", {}))
    view = Summary.model_validate(total)
    view.open_tickets = view.tickets_created - view.tickets_closed
    return view


async def _rewrite(
    read: Callable[[], Awaitable[D | None]],
    decide: Callable[[D | None], D | None],
    write: Callable[[D | None, D], Awaitable[bool]],
) -> bool:
    """Read, decide (pure), compare-and-set; again when another writer came first. False when
    the decision was to change nothing."""
    for attempt in range(MAX_WRITE_ATTEMPTS):
        before = await read()
        after = decide(before)
        if after is None:
            return False
        if await write(before, after):
            return True
        await asyncio.sleep(min(0.05, 0.001 * 2**attempt))  # let the winner's write settle
    raise Conflict("a read model kept changing; the event is redelivered")


async def record_fact(event: Event[Any], delivery: Delivery, deps: ReportingDeps) -> bool:
    """Lay the event into the ticket's facts; False when it changes nothing (a redelivery)."""
    ticket_id = getattr(event.data, "ticket_id", None)
    if ticket_id is None:
        return False
    at = Position(stream_key(delivery.topic, delivery.partition), delivery.offset)
    return await _rewrite(
        lambda: deps.facts.get(ticket_id),
        lambda doc: applied(doc or FactDocument(), event, at),
        lambda before, after: deps.facts.put(ticket_id, before, after),
    )


async def record_site(event: TicketCreated, deps: ReportingDeps) -> None:
    """The sites tickets came from, for the site-status report."""
    if event.data.organization_id:
        await deps.facts.add_site(event.data.organization_id, event.data.site or "-")


async def fact(ticket_id: str, deps: ReportingDeps) -> dict[str, Any] | None:
    doc = await deps.facts.get(ticket_id)
    return {"ticket_id": ticket_id, **doc.fact} if doc is not None else None


async def report(
    name: str, start: datetime, end: datetime, group_by: str | None, deps: ReportingDeps
) -> tuple[reports.ReportInfo, list[dict[str, Any]]]:
    """A report, reading only what it is made from for the period (reads.py)."""
    reports.info_of(name, group_by)
    reads = READS[name]
    records = {kind: await deps.records.all(kind) for kind in reads.records}
    facts = await deps.facts.within(reads.facts(start, end)) if reads.facts else []
    if reads.incidents:
        facts += await deps.facts.of_tickets(incidents_of(records["problems"], start, end))
    sites = await deps.facts.sites() if reads.sites else []
    inputs = reports.Inputs(facts=facts, records=records, sites=sites)
    return reports.build(name, inputs, start, end, group_by)


async def record(event: Event[Any], deps: ReportingDeps) -> bool:
    """Lay a problem-management event into its record; False for a redelivery."""
    kind, key = KIND_OF[event.type], record_id(event)

    def decide(doc: RecordDocument | None) -> RecordDocument | None:
        after = recorded(doc.record if doc else {}, event)
        return RecordDocument(record=after) if after is not None else None

    return await _rewrite(
        lambda: deps.records.get(kind, key),
        decide,
        lambda before, after: deps.records.put(kind, key, before, after),
    )


async def apply(event: Event[Any], delivery: Delivery, deps: ReportingDeps) -> None:
    """One event into every read model (the live consumer and the rebuild alike)."""
    if event.type in COUNTED_TYPES:
        await count_event(event, delivery, deps)
    if event.type in FACT_TYPES:
        await record_fact(event, delivery, deps)
    if isinstance(event, TicketCreated):
        await record_site(event, deps)
    if event.type in RECORD_TYPES:
        await record(event, deps)
