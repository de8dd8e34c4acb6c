"""The life cycle: status moves, the resolution record, closing (confirmed or after a quiet
period), reopening on a customer's reply."""

from __future__ import annotations

import logging
from typing import Any

from shared.errors import Conflict, DomainError, NotFound
from shared.events import Event
from shared.events.common import Person, TicketStatus
from shared.events.intake import TicketCustomerReplied, TicketFeedbackReceived
from shared.events.triage import (
    TicketClosed,
    TicketClosedData,
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
)
from shared.periodic import every

from .. import metrics
from ..domain import DONE, CloseRequest, ResolveRequest, StatusRequest
from ..store import Alert, Resolution, WorkItem
from . import Change, TriageDeps, change_item, get_work_item, moved, who
from .work import backfill, queue_people

log = logging.getLogger(__name__)
S = TicketStatus
QUIET_CLOSE = "no answer within the quiet period after 'may we close it?'"


async def set_status(
    ticket_id: str, request: StatusRequest, by: Person, deps: TriageDeps
) -> WorkItem:
    if request.status in (S.RESOLVED, S.CLOSED):
        raise DomainError(f"use the {request.status.value[:-1]} action, which records why")
    now = deps.clock.now()
    if request.status is S.REOPENED:  # an agent's decision: as on a customer's reply
        after = await change_item(
            ticket_id, deps, lambda item: _reopened(item, by, request.reason, now, None)
        )
        return await _back_to_work(after, deps) or await get_work_item(ticket_id, deps)
    after = await change_item(
        ticket_id, deps, lambda item: moved(item, request.status, by, request.reason, now)
    )
    return after or await get_work_item(ticket_id, deps)


def _reopened(
    item: WorkItem, by: Person | None, reason: str, now: Any, cause: Event[Any] | None
) -> Change:
    count = item.reopen_count + 1
    after, events = moved(item, S.REOPENED, by, reason, now, cause, reopen_count=count)
    reopened = TicketReopened.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        correlation_id=cause.correlationid if cause else None,
        data=TicketReopenedData(
            ticket_id=item.ticket_id,
            number=item.number,
            reason=reason,
            reopen_count=count,
            by=by,
        ),
    )
    return after, [*events, reopened]


async def _back_to_work(after: WorkItem | None, deps: TriageDeps) -> WorkItem | None:
    """A reopened ticket goes back to the agent who had it (they know its history)."""
    if after is None or after.status is not S.REOPENED:
        return after
    await deps.store.unmark_close_due(after.ticket_id)
    agent = await deps.agents.get_agent(after.assignee) if after.assignee else None
    if agent is not None:
        await deps.agents.take_slot(agent, after.ticket_id)
    return after


async def resolve(
    ticket_id: str, request: ResolveRequest, by: Person | None, deps: TriageDeps
) -> WorkItem:
    """Record the resolution; intake asks the customer "may we close it?", and without an
    answer the sweep closes the ticket after the quiet period."""
    now = deps.clock.now()
    record = Resolution(**request.model_dump(), resolved_by=who(by), resolved_at=now)

    def decide(item: WorkItem) -> Change:
        after, events = moved(item, S.RESOLVED, by, request.resolution, now, resolution=record)
        resolved = TicketResolved.create(
            source="triage",
            subject=item.ticket_id,
            time=now,
            data=TicketResolvedData(
                ticket_id=item.ticket_id,
                number=item.number,
                by=by,
                first_contact=item.first_contact,
                **request.model_dump(),
            ),
        )
        return after, [*events, resolved]

    after = await change_item(ticket_id, deps, decide)
    assert after is not None
    await deps.store.mark_close_due(ticket_id, now + deps.auto_close_after)
    if after.assignee:  # done: the agent's slot is free for new work, waiting tickets get it
        await deps.agents.free_slot(after.assignee, ticket_id)
        agent = await deps.agents.get_agent(after.assignee)
        if agent is not None:
            await backfill(agent.queues, agent.tier, deps)
    return after


async def close(
    ticket_id: str, request: CloseRequest, by: Person | None, deps: TriageDeps, how: str = "agent"
) -> WorkItem:
    now = deps.clock.now()

    def decide(item: WorkItem) -> Change:
        after, events = moved(item, S.CLOSED, by, request.reason, now, closed_at=now)
        closed = TicketClosed.create(
            source="triage",
            subject=item.ticket_id,
            time=now,
            data=TicketClosedData(
                ticket_id=item.ticket_id, number=item.number, reason=request.reason, by=by
            ),
        )
        return after, [*events, closed]

    after = await change_item(ticket_id, deps, decide)
    assert after is not None
    await deps.store.unmark_close_due(ticket_id)
    metrics.CLOSED.labels(how).inc()
    return after


async def customer_replied(event: TicketCustomerReplied, deps: TriageDeps) -> WorkItem | None:
    """A reply to a resolved or closed ticket reopens it, back with the agent who had it; one
    while we wait for the customer puts it back in progress (the SLA clock resumes). To a
    resolved ticket, an answer intake read as a confirmation closes it, and an unclear one
    leaves it resolved and tells its agent (or its queue's people) to read it."""
    now = deps.clock.now()
    reason = f"the customer replied ({event.data.channel.value})"
    if event.data.intent != "reply":
        item = await deps.store.get_item(event.data.ticket_id)
        if item is not None and item.status is S.RESOLVED:
            return await _answered(item, event, deps)

    def decide(item: WorkItem) -> Change | None:
        if item.status is S.PENDING_CUSTOMER:
            return moved(item, S.IN_PROGRESS, None, reason, now, event)
        if item.status not in DONE:
            return None
        return _reopened(item, event.data.author, reason, now, event)

    try:
        after = await change_item(event.data.ticket_id, deps, decide)
    except NotFound:
        return None  # a reply to a ticket triage never saw (created before triage ran)
    return await _back_to_work(after, deps)


async def _answered(
    item: WorkItem, event: TicketCustomerReplied, deps: TriageDeps
) -> WorkItem | None:
    if event.data.intent == "confirms":
        request = CloseRequest(reason=f"confirmed by the customer ({event.data.channel.value})")
        try:
            return await close(item.ticket_id, request, event.data.author, deps, how="confirmed")
        except Conflict:
            return None  # reopened or closed meanwhile
    readers = [item.assignee] if item.assignee else await queue_people(item.queue, deps)
    what = "the customer answered 'may we close it?' unclearly: read the reply and decide"
    await deps.agents.alert(
        [
            Alert(
                id=f"{event.id}:{agent}",
                agent=agent,
                ticket_id=item.ticket_id,
                number=item.number,
                at=event.time,
                what=what,
            )
            for agent in readers
        ]
    )
    return item


async def feedback(event: TicketFeedbackReceived, deps: TriageDeps) -> WorkItem | None:
    """ "Yes, you may close it" (seed 004, slide 13): a resolved ticket is closed."""
    if not event.data.confirms_resolution:
        return None
    item = await deps.store.get_item(event.data.ticket_id)
    if item is None or item.status is not S.RESOLVED:
        return None
    request = CloseRequest(reason="confirmed by the customer")
    try:
        return await close(item.ticket_id, request, event.data.author, deps, how="confirmed")
    except Conflict:
        return None  # reopened meanwhile: the reply wins


async def close_quiet(deps: TriageDeps) -> int:
    """Close resolved tickets whose quiet period is over; returns how many."""
    closed = 0
    for ticket_id in await deps.store.close_due(deps.clock.now()):
        item = await deps.store.get_item(ticket_id)
        if item is None or item.status is not S.RESOLVED:
            await deps.store.unmark_close_due(ticket_id)
            continue
        try:
            await close(ticket_id, CloseRequest(reason=QUIET_CLOSE), None, deps, how="quiet")
        except Conflict:
            continue  # changed meanwhile (reopened): the next sweep sees its new state
        closed += 1
    return closed


async def sweep(deps: TriageDeps, interval: float) -> None:
    """The scheduled sweep: runs while the service runs."""
    await every(interval, lambda: close_quiet(deps), "the auto-close sweep", at_once=True)
