"""Who works a ticket: assignment by load, claims, reassignment, escalation up the tiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.errors import Conflict, NotFound
from shared.events import Event
from shared.events.common import Person, TicketStatus
from shared.events.triage import (
    TicketAssigned,
    TicketAssignedData,
    TicketEscalated,
    TicketEscalatedData,
)

from .. import metrics
from ..domain import ACTIVE, Agent, Queue, candidates, may_work, plan_escalation
from ..store import Alert, WorkItem
from . import Change, TriageDeps, change_item, current_config, get_work_item, moved, worklist

S = TicketStatus
TAKES_ASSIGNMENT = {S.NEW, S.OPEN, S.REOPENED, S.IN_PROGRESS}
"""Statuses that become `assigned` when someone takes the ticket (others keep theirs)."""


async def pick_agent(queue: Queue, tier: int, ticket_id: str, deps: TriageDeps) -> Agent | None:
    """The agent with the least open load at the queue's tier, taking turns on ties; their slot
    is taken here, so capacity holds across replicas."""
    agents = await deps.agents.list_agents(queue.key, 500)
    load = await deps.agents.loads()
    last = await deps.agents.last_turn(queue.key)
    for agent in candidates(agents, queue, tier, load, last):
        if await deps.agents.take_slot(agent, ticket_id):
            await deps.agents.remember_turn(queue.key, agent.id)
            return agent
    return None


def assigned(
    item: WorkItem, agent: str | None, by: Person | None, reason: str, now: Any, **changes: Any
) -> Change:
    """The item with its new assignee (or none: back to the queue) and the events saying so."""
    if agent is None:
        back = item.status in (S.ASSIGNED, S.IN_PROGRESS, S.REOPENED)
        queued: TicketStatus = S.OPEN if back else item.status
        why = reason or "back to the queue"
        return moved(item, queued, by, why, now, stay=True, assignee=None, **changes)
    if agent == item.assignee:
        why = f"stays with {agent}: {reason}"
        return moved(item, item.status, by, why, now, stay=True, **changes)
    target: TicketStatus = S.ASSIGNED if item.status in TAKES_ASSIGNMENT else item.status
    why = f"assigned to {agent}: {reason}"
    after, events = moved(item, target, by, why, now, stay=True, **changes)
    after = after.model_copy(update={"assignee": agent})
    event = TicketAssigned.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        data=TicketAssignedData(
            ticket_id=item.ticket_id,
            number=item.number,
            assignee=agent,
            previous_assignee=item.assignee,
            queue=after.queue,
            tier=after.tier,
            by=by,
            reason=reason,
        ),
    )
    return after, [*events, event]


class Stale(Exception):
    """The item changed after the read a decision was made from: decide again."""


async def hand_to(
    ticket_id: str,
    agent: str | None,
    by: Person | None,
    reason: str,
    deps: TriageDeps,
    extra: Sequence[Event[Any]] = (),
    decided_from: WorkItem | None = None,
    **changes: Any,
) -> WorkItem:
    """Record the new assignee (their slot already taken) and free the previous one's slot;
    if the change cannot be made, the new slot is freed again. With `decided_from`, the change
    is made only to that very revision (else Stale): `changes` were decided from it."""
    now = deps.clock.now()
    before = decided_from or await get_work_item(ticket_id, deps)

    def decide(item: WorkItem) -> Change:
        if decided_from is not None and item.revision != decided_from.revision:
            raise Stale(ticket_id)
        after, events = assigned(item, agent, by, reason, now, **changes)
        return after, [*extra, *events]

    try:
        after = await change_item(ticket_id, deps, decide)
    except BaseException:
        if agent and agent != before.assignee:
            await deps.agents.free_slot(agent, ticket_id)
        raise
    if before.assignee and before.assignee != agent:
        await deps.agents.free_slot(before.assignee, ticket_id)
    if agent:
        metrics.ASSIGNED.labels(after.queue if after else before.queue).inc()
    return after or before


async def auto_assign(item: WorkItem, deps: TriageDeps) -> WorkItem:
    """A ticket without an assignee in a queue that assigns by load: the best agent gets it."""
    queue = (await current_config(deps)).queue(item.queue)
    if item.assignee or queue is None or not queue.auto_assign or item.status not in ACTIVE:
        return item
    agent = await pick_agent(queue, item.tier, item.ticket_id, deps)
    if agent is None:
        return item
    return await hand_to(item.ticket_id, agent.id, None, "least open load in the queue", deps)


async def assign(
    ticket_id: str, agent_id: str, by: Person, reason: str, deps: TriageDeps, claim: bool = False
) -> WorkItem:
    """A supervisor or agent gives the ticket to an agent of its queue and tier, or an agent
    claims it; within the agent's capacity. The assignee is then responsible."""
    item = await get_work_item(ticket_id, deps)
    if item.status not in ACTIVE | {S.PENDING_CUSTOMER}:
        raise Conflict(f"ticket {item.number} is {item.status.value}: nothing to assign")
    agent = await deps.agents.get_agent(agent_id)
    queue = (await current_config(deps)).queue(item.queue)
    if agent is None or queue is None:
        raise NotFound(f"no agent {agent_id}" if agent is None else f"no queue {item.queue}")
    if not may_work(agent, queue, item.tier):
        raise Conflict(f"{agent_id} does not work queue {queue.key} at tier {item.tier}")
    if item.assignee == agent_id:
        return item
    if not await deps.agents.take_slot(agent, ticket_id):
        raise Conflict(f"{agent_id} is at capacity ({agent.capacity} open tickets)")
    why = reason or ("claimed from the queue" if claim else "assigned")
    return await hand_to(ticket_id, agent_id, by, why, deps)


MAX_ESCALATION_ATTEMPTS = 8


async def escalate(
    ticket_id: str,
    trigger: str,
    by: Person | None,
    reason: str,
    deps: TriageDeps,
    symptoms: str = "",
    cause: Event[Any] | None = None,
) -> WorkItem | None:
    """Up a tier, to the on-call agent or to the supervisor (seed 004, slide 11); every agent
    of the queue and the supervisors are alerted. Automatic ones skip tickets not in work.
    The plan is made from one read of the item and written to that revision only; when the
    item changed meanwhile, it is planned again from the new state."""
    for _ in range(MAX_ESCALATION_ATTEMPTS):
        try:
            return await _escalate_once(ticket_id, trigger, by, reason, deps, symptoms, cause)
        except Stale:
            continue
    raise Conflict(f"ticket {ticket_id} kept changing while it was escalated; try again")


async def _escalate_once(
    ticket_id: str,
    trigger: str,
    by: Person | None,
    reason: str,
    deps: TriageDeps,
    symptoms: str,
    cause: Event[Any] | None,
) -> WorkItem | None:
    try:
        item = await get_work_item(ticket_id, deps)
    except NotFound:
        if trigger == "manual":
            raise
        return None  # an SLA event about a ticket triage has not stored
    if item.status not in ACTIVE:
        if trigger == "manual":
            raise Conflict(f"ticket {item.number} is {item.status.value}: nothing to escalate")
        return None
    config = await current_config(deps)
    queue = await _staffed(config.queue(item.queue) or Queue(key=item.queue, name=item.queue), deps)
    breaches = item.breaches + (trigger == "sla.breached")
    plan = plan_escalation(item.tier, item.assignee, queue, trigger, breaches)
    taker = await _taker(plan.assignee, queue, plan.tier, ticket_id, deps)
    notified = await _alerted(queue, deps)
    why = f"{reason}: {plan.reason}" if reason else plan.reason
    event = TicketEscalated.create(
        source="triage",
        subject=ticket_id,
        time=deps.clock.now(),
        correlation_id=cause.correlationid if cause else None,
        data=TicketEscalatedData(
            ticket_id=ticket_id,
            number=item.number,
            from_tier=item.tier,
            to_tier=plan.tier,
            queue=queue.key,
            automatic=trigger != "manual",
            reason=why,
            by=by,
            trigger=trigger,
            symptoms=symptoms,
            assignee=taker,
            notified=notified,
        ),
    )
    after = await hand_to(
        ticket_id,
        taker,
        by,
        why,
        deps,
        extra=[event],
        decided_from=item,
        tier=plan.tier,
        breaches=breaches,
        escalations=item.escalations + 1,
    )
    await deps.agents.alert(
        [
            Alert(
                id=f"{event.id}:{agent}",
                agent=agent,
                ticket_id=ticket_id,
                number=item.number,
                at=event.time,
                what=f"escalated ({trigger}): {why}",
            )
            for agent in notified
        ]
    )
    metrics.ESCALATED.labels(trigger).inc()
    return after


async def _staffed(queue: Queue, deps: TriageDeps) -> Queue:
    """The queue with its on-call agent and supervisor: as configured, else the queue's agent
    marked on call (highest tier first) and a supervisor working the queue."""
    if queue.on_call and queue.supervisor:
        return queue
    agents = sorted(await deps.agents.list_agents(queue.key, 500), key=lambda a: (-a.tier, a.id))
    on_call = queue.on_call or next((a.id for a in agents if a.on_call), None)
    chief = queue.supervisor or next((a.id for a in agents if a.supervisor), None)
    return queue.model_copy(update={"on_call": on_call, "supervisor": chief})


async def backfill(queues: list[str], tier: int, deps: TriageDeps) -> int:
    """Capacity came free at a tier: the waiting tickets of those queues go to the best agent,
    most urgent first. Returns how many were assigned."""
    assigned_now = 0
    for key in queues:
        queue = (await current_config(deps)).queue(key)
        if queue is None or not queue.auto_assign:
            continue
        for item in (await worklist(key, 500, None, deps)).items:
            if item.assignee or item.tier != tier or item.status not in ACTIVE:
                continue
            after = await auto_assign(item, deps)
            if after.assignee is None:
                break  # nobody has room: the rest wait too
            assigned_now += 1
    return assigned_now


async def _taker(
    named: str | None, queue: Queue, tier: int, ticket_id: str, deps: TriageDeps
) -> str | None:
    """The on-call agent or supervisor named by the plan (above capacity if need be: an
    escalation must reach someone), else the best agent at the new tier."""
    if named is not None:
        agent = await deps.agents.get_agent(named)
        if agent is not None:
            await deps.agents.take_slot(agent, ticket_id)
            return agent.id
    picked = await pick_agent(queue, tier, ticket_id, deps)
    return picked.id if picked else None


async def queue_people(key: str, deps: TriageDeps) -> list[str]:
    """Who hears of a ticket of the queue that has nobody assigned: its people (see _alerted)."""
    queue = (await current_config(deps)).queue(key)
    return await _alerted(queue, deps) if queue is not None else []


async def _alerted(queue: Queue, deps: TriageDeps) -> list[str]:
    """Everyone of the queue, its supervisor and every supervisor agent."""
    agents = await deps.agents.list_agents(None, 1_000)
    ids = {a.id for a in agents if queue.key in a.queues or a.supervisor}
    if queue.supervisor:
        ids.add(queue.supervisor)
    return sorted(ids)
