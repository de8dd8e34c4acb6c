"""Triage's use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import Clock
from shared.errors import Conflict, DomainError, NotFound
from shared.events import Event
from shared.events.common import Person, TicketStatus
from shared.events.intake import TicketCreated, TicketCustomerReplied
from shared.events.triage import (
    TicketClosed,
    TicketClosedData,
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
    TicketStatusChanged,
    TicketStatusChangedData,
    TicketTriaged,
    TicketTriagedData,
)
from shared.outbox import OutboxRelay

from . import metrics
from .domain import (
    DEFAULT_QUEUES,
    PRIORITY_ORDER,
    CloseRequest,
    ResolveRequest,
    StatusRequest,
    decide,
    transition,
)
from .store import WORK_ITEMS, AgentStore, HistoryEntry, TriageStore, WorkItem


@dataclass
class TriageDeps:
    store: TriageStore
    agents: AgentStore
    relay: OutboxRelay
    clock: Clock


async def triage_ticket(event: TicketCreated, deps: TriageDeps) -> WorkItem:
    """Classify, prioritise and queue a new ticket; announce ticket.triaged.

    A redelivered ticket.created finds the work item stored: the keyed insert refuses it.
    """
    ticket = event.data
    now = deps.clock.now()
    decision = decide(ticket)
    item = WorkItem(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        organization_id=ticket.organization_id,
        service_level=ticket.service_level,
        entitled=ticket.entitled,
        type=decision.type,
        impact=decision.impact,
        urgency=decision.urgency,
        priority=decision.priority,
        priority_rank=len(PRIORITY_ORDER) - 1 - PRIORITY_ORDER.index(decision.priority),
        queue=decision.queue,
        tier=decision.tier,
        status=TicketStatus.RESOLVED if ticket.resolved_on_contact else TicketStatus.OPEN,
        first_contact=ticket.resolved_on_contact,
        resolution=ticket.resolution if ticket.resolved_on_contact else None,
        resolution_code="solved" if ticket.resolved_on_contact else None,
        resolved_at=now if ticket.resolved_on_contact else None,
        created_at=ticket.created_at,
        explanation=decision.explanation,
        history=[
            HistoryEntry(
                at=now,
                what=f"triaged into {decision.queue}",
                reason="; ".join(decision.explanation),
            )
        ],
    )
    triaged = TicketTriaged.create(
        source="triage",
        subject=ticket.ticket_id,
        time=now,
        correlation_id=event.correlationid,
        data=TicketTriagedData(
            ticket_id=ticket.ticket_id,
            number=ticket.number,
            type=item.type,
            impact=item.impact,
            urgency=item.urgency,
            priority=item.priority,
            service_level=item.service_level,
            queue=item.queue,
            tier=item.tier,
            status=item.status,
            organization_id=item.organization_id,
            entitled=item.entitled,
            explanation=item.explanation,
        ),
    )
    events: list[Event[Any]] = [triaged]
    if item.first_contact:
        events.append(
            TicketResolved.create(
                source="triage",
                subject=ticket.ticket_id,
                time=now,
                correlation_id=event.correlationid,
                data=TicketResolvedData(
                    ticket_id=ticket.ticket_id,
                    number=ticket.number,
                    resolution=item.resolution or "answered on the spot",
                    by=ticket.created_by,
                    first_contact=True,
                ),
            )
        )
    async with deps.relay.writing(WORK_ITEMS, item.ticket_id):
        inserted = await deps.store.insert_item(item, events)
    if inserted:
        metrics.TRIAGED.labels(item.queue, item.priority.value).inc()
    return item


MAX_WRITE_ATTEMPTS = 5
Change = tuple[WorkItem, list[Event[Any]]]


async def change_item(
    ticket_id: str, deps: TriageDeps, decide: Callable[[WorkItem], Change | None]
) -> WorkItem:
    """Read, decide, write the next revision; decide again if another writer came first."""
    for _ in range(MAX_WRITE_ATTEMPTS):
        async with deps.relay.writing(WORK_ITEMS, ticket_id):
            item = await get_work_item(ticket_id, deps)
            decided = decide(item)
            if decided is None:
                return item
            after, events = decided
            if await deps.store.save(item, after, events):
                return after.model_copy(update={"revision": item.revision + 1})
    raise Conflict(f"work item {ticket_id} kept changing; try again")


def _moved(
    item: WorkItem,
    target: TicketStatus,
    by: Person | None,
    reason: str,
    now: datetime,
    cause: Event[Any] | None = None,
    **changes: Any,
) -> Change:
    """The item in its new status, the history line and ticket.status_changed."""
    transition(item.status, target)
    entry = HistoryEntry(
        at=now, what=f"{item.status.value} -> {target.value}", by=_who(by), reason=reason
    )
    after = item.model_copy(update={"status": target, "history": [*item.history, entry], **changes})
    event = TicketStatusChanged.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        correlation_id=cause.correlationid if cause else None,
        data=TicketStatusChangedData(
            ticket_id=item.ticket_id,
            number=item.number,
            from_status=item.status,
            to_status=target,
            by=by,
            reason=reason,
        ),
    )
    return after, [event]


async def set_status(
    ticket_id: str, request: StatusRequest, by: Person, deps: TriageDeps
) -> WorkItem:
    if request.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise DomainError(f"use the {request.status.value[:-1]} action, which records why")
    now = deps.clock.now()
    return await change_item(
        ticket_id, deps, lambda item: _moved(item, request.status, by, request.reason, now)
    )


async def resolve(
    ticket_id: str, request: ResolveRequest, by: Person | None, deps: TriageDeps
) -> WorkItem:
    now = deps.clock.now()

    def decide(item: WorkItem) -> Change:
        after, events = _moved(
            item,
            TicketStatus.RESOLVED,
            by,
            request.resolution,
            now,
            resolution=request.resolution,
            resolution_code=request.resolution_code,
            resolved_at=now,
        )
        resolved = TicketResolved.create(
            source="triage",
            subject=item.ticket_id,
            time=now,
            data=TicketResolvedData(
                ticket_id=item.ticket_id,
                number=item.number,
                resolution=request.resolution,
                resolution_code=request.resolution_code,
                by=by,
                first_contact=item.first_contact,
            ),
        )
        return after, [*events, resolved]

    return await change_item(ticket_id, deps, decide)


async def close(
    ticket_id: str, request: CloseRequest, by: Person | None, deps: TriageDeps
) -> WorkItem:
    now = deps.clock.now()

    def decide(item: WorkItem) -> Change:
        after, events = _moved(item, TicketStatus.CLOSED, by, request.reason, now, closed_at=now)
        closed = TicketClosed.create(
            source="triage",
            subject=item.ticket_id,
            time=now,
            data=TicketClosedData(
                ticket_id=item.ticket_id, number=item.number, reason=request.reason, by=by
            ),
        )
        return after, [*events, closed]

    return await change_item(ticket_id, deps, decide)


async def customer_replied(event: TicketCustomerReplied, deps: TriageDeps) -> WorkItem | None:
    """A reply to a resolved or closed ticket reopens it; one while we wait for the customer
    puts it back in progress."""
    now = deps.clock.now()
    reason = f"the customer replied ({event.data.channel.value})"

    def decide(item: WorkItem) -> Change | None:
        if item.status is TicketStatus.PENDING_CUSTOMER:
            return _moved(item, TicketStatus.IN_PROGRESS, None, reason, now, event)
        if item.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return None
        count = item.reopen_count + 1
        after, events = _moved(
            item, TicketStatus.REOPENED, None, reason, now, event, reopen_count=count
        )
        reopened = TicketReopened.create(
            source="triage",
            subject=item.ticket_id,
            time=now,
            correlation_id=event.correlationid,
            data=TicketReopenedData(
                ticket_id=item.ticket_id,
                number=item.number,
                reason=reason,
                reopen_count=count,
                by=event.data.author,
            ),
        )
        return after, [*events, reopened]

    try:
        return await change_item(event.data.ticket_id, deps, decide)
    except NotFound:
        return None  # a reply to a ticket triage never saw (created before triage ran)


def _who(person: Person | None) -> str | None:
    if person is None:
        return None
    return person.subject_id or person.email or person.name


async def get_work_item(ticket_id: str, deps: TriageDeps) -> WorkItem:
    item = await deps.store.get_item(ticket_id)
    if item is None:
        raise NotFound(f"no work item for ticket {ticket_id}")
    return item


async def worklist(queue: str, limit: int, deps: TriageDeps) -> list[WorkItem]:
    if queue not in DEFAULT_QUEUES:
        raise NotFound(f"no queue {queue}")
    return await deps.store.queue_items(queue, limit)
