"""A new ticket read and queued (ticket.triaged), agents' corrections, SLA due times."""

from __future__ import annotations

from typing import Any

from shared.errors import FieldInvalid, NotFound
from shared.events import Event
from shared.events.common import Person, TicketStatus
from shared.events.intake import TicketCreated
from shared.events.sla import (
    SlaClockPaused,
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockStarted,
    SlaMet,
)
from shared.events.triage import (
    TicketResolved,
    TicketResolvedData,
    TicketTriaged,
    TicketTriagedData,
)

from .. import metrics
from ..domain import ClassifyRequest, decide, prioritise
from ..store import Correction, HistoryEntry, Resolution, WorkItem
from . import Change, TriageDeps, change_item, current_config, get_work_item, note, rank, who
from .work import auto_assign


async def triage_ticket(event: TicketCreated, deps: TriageDeps) -> WorkItem:
    """Classify, prioritise and queue a new ticket, announce ticket.triaged, then give it to
    the best agent of the queue. A redelivered ticket.created meets the keyed insert and stops
    (no look-up first: FerretDB scans to say a key is missing)."""
    ticket = event.data
    now = deps.clock.now()
    decision = decide(ticket, await current_config(deps))
    first_contact = ticket.resolved_on_contact
    item = WorkItem(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        organization_id=ticket.organization_id,
        service_level=ticket.service_level,
        entitled=ticket.entitled,
        asset_critical=bool(ticket.asset_critical),
        type=decision.type,
        request_kind=decision.request_kind,
        impact=decision.impact,
        urgency=decision.urgency,
        priority=decision.priority,
        priority_rank=rank(decision.priority),
        queue=decision.queue,
        tier=decision.tier,
        status=TicketStatus.RESOLVED if first_contact else TicketStatus.OPEN,
        first_contact=first_contact,
        resolution=Resolution(
            resolution=ticket.resolution or "answered on the spot",
            resolved_by=who(ticket.created_by),
            resolved_at=now,
        )
        if first_contact
        else None,
        created_at=ticket.created_at,
        explanation=decision.explanation,
        scores=decision.scores,
        history=[
            HistoryEntry(
                at=now,
                what=f"triaged into {decision.queue}",
                reason="; ".join(decision.explanation),
            )
        ],
    )
    events: list[Event[Any]] = [_triaged(item, event, now)]
    if first_contact:
        events.append(_first_contact(item, ticket.created_by, event, now))
    async with deps.relay.writing("work_items", item.ticket_id):
        inserted = await deps.store.insert_item(item, events)
    if not inserted:
        return await get_work_item(item.ticket_id, deps)
    metrics.TRIAGED.labels(item.queue, item.priority.value).inc()
    if first_contact:
        await deps.store.mark_close_due(item.ticket_id, now + deps.auto_close_after)
        return item
    return await auto_assign(item, deps)


def _triaged(
    item: WorkItem, cause: Event[Any] | None, now: Any, by: Person | None = None
) -> TicketTriaged:
    return TicketTriaged.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        correlation_id=cause.correlationid if cause else None,
        data=TicketTriagedData(
            ticket_id=item.ticket_id,
            number=item.number,
            type=item.type,
            request_kind=item.request_kind,
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
            scores=item.scores,
            assignee=item.assignee,
            corrected_by=by,
        ),
    )


def _first_contact(
    item: WorkItem, by: Person | None, cause: Event[Any], now: Any
) -> TicketResolved:
    assert item.resolution is not None
    return TicketResolved.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        correlation_id=cause.correlationid,
        data=TicketResolvedData(
            ticket_id=item.ticket_id,
            number=item.number,
            resolution=item.resolution.resolution,
            by=by,
            first_contact=True,
        ),
    )


async def correct(
    ticket_id: str, request: ClassifyRequest, by: Person, deps: TriageDeps
) -> WorkItem:
    """An agent corrects the reading; the priority is worked out again and the correction kept
    (on the item and in ticket.triaged, which re-plans the SLA clock)."""
    config = await current_config(deps)
    if request.queue and config.queue(request.queue) is None:
        raise FieldInvalid("queue", f"no queue {request.queue}")
    now = deps.clock.now()

    def decide_again(item: WorkItem) -> Change:
        kind = request.type or item.type
        impact = request.impact or item.impact
        urgency = request.urgency or item.urgency
        wanted: dict[str, Any] = {
            "type": kind,
            "request_kind": request.request_kind or item.request_kind,
            "impact": impact,
            "urgency": urgency,
            "queue": request.queue or item.queue,
        }
        priority, why = prioritise(
            kind, impact, urgency, item.service_level, item.asset_critical, config.matrix
        )
        changed = {
            k: [str(getattr(item, k)), str(v)] for k, v in wanted.items() if getattr(item, k) != v
        }
        correction = Correction(at=now, by=who(by), changed=changed, reason=request.reason)
        after = note(
            item,
            "classification corrected",
            by,
            request.reason,
            now,
            **wanted,
            priority=priority,
            priority_rank=rank(priority),
            explanation=[*why, f"corrected by {who(by)}: {request.reason}"],
            corrections=[*item.corrections, correction],
        )
        return after, [_triaged(after, None, now, by)]

    after = await change_item(ticket_id, deps, decide_again)
    return after or await get_work_item(ticket_id, deps)


async def sla_planned(
    event: SlaClockStarted | SlaClockReplanned | SlaClockPaused | SlaClockResumed | SlaMet,
    deps: TriageDeps,
) -> None:
    """The SLA's due times order the worklists: the soonest open target counts. A clock's
    start, re-plan and resumption bring its due times; a pause has none (the item goes after
    those with a due time); a met target leaves."""
    ticket_id = event.data.ticket_id

    def learn(item: WorkItem) -> Change | None:
        if isinstance(event, SlaMet):
            targets = {k: v for k, v in item.sla_targets.items() if k != event.data.target}
        elif not event.data.targets:
            return None  # a pause or resumption announced without its targets
        else:
            targets = {t.name: t.due_at for t in event.data.targets if t.due_at is not None}
        if targets == item.sla_targets:
            return None
        soonest = min(targets.values()) if targets else None
        return item.model_copy(update={"sla_targets": targets, "sla_due_at": soonest}), []

    try:
        await change_item(ticket_id, deps, learn)
    except NotFound:
        return  # the clock started before triage stored the item: the next event sets it
