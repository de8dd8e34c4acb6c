"""Triage's use cases."""

from __future__ import annotations

from dataclasses import dataclass

from shared.clock import Clock
from shared.errors import NotFound
from shared.events.common import TicketStatus
from shared.events.intake import TicketCreated
from shared.events.triage import TicketTriaged, TicketTriagedData
from shared.outbox import OutboxRelay

from . import metrics
from .domain import DEFAULT_QUEUES, PRIORITY_ORDER, decide
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
        status=TicketStatus.OPEN,
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
    async with deps.relay.writing(WORK_ITEMS, item.ticket_id):
        inserted = await deps.store.insert_item(item, [triaged])
    if inserted:
        metrics.TRIAGED.labels(item.queue, item.priority.value).inc()
    return item


async def get_work_item(ticket_id: str, deps: TriageDeps) -> WorkItem:
    item = await deps.store.get_item(ticket_id)
    if item is None:
        raise NotFound(f"no work item for ticket {ticket_id}")
    return item


async def worklist(queue: str, limit: int, deps: TriageDeps) -> list[WorkItem]:
    if queue not in DEFAULT_QUEUES:
        raise NotFound(f"no queue {queue}")
    return await deps.store.queue_items(queue, limit)
