"""Triage's HTTP routes: work items and their actions; agents, queues and rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shared.auth import STAFF, Principal, Role, require
from shared.errors import Conflict, DomainError, NotFound
from shared.events.common import Person
from shared.paging import (
    BY_ITEM_ID,
    Cursor,
    Limit,
    Order,
    Page,
    Paging,
    decode_cursor,
    encode_cursor,
    page,
    slice_of,
)
from shared.runtime import app_deps

from .domain import (
    Agent,
    AgentUpdate,
    AssignRequest,
    ClassificationRule,
    ClassifyRequest,
    CloseRequest,
    EscalateRequest,
    PriorityMatrix,
    Queue,
    ResolveRequest,
    RoutingRule,
    StatusRequest,
    TextSignals,
)
from .service import (
    TriageDeps,
    assigned_work,
    current_config,
    get_work_item,
    lifecycle,
    reading,
    setup,
    work,
    worklist,
)
from .store import Alert, WorkItem
from .store.items import WORKLIST
from .store.people import NEWEST_ALERTS

router = APIRouter(prefix="/v1", tags=["work"])
Deps = Annotated[TriageDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


def person(user: Principal) -> Person:
    return Person(email=user.email, name=user.name, subject_id=user.sub)


@router.get("/work-items", response_model=Page[WorkItem])
async def assigned_worklist(
    assignee: Annotated[
        str, Query(min_length=1, max_length=100, description="The agent id whose open work")
    ],
    _: Staff,
    deps: Deps,
    paging: Paging,
) -> Page[WorkItem]:
    """An agent's open work (not resolved or closed), in the worklist's order: highest
    priority first, then the SLA due soonest, then oldest (then by ticket id)."""
    return page(await assigned_work(assignee, paging.limit, paging.after(WORKLIST), deps))


@router.get("/work-items/{ticket_id}", response_model=WorkItem)
async def get_item(ticket_id: str, _: Staff, deps: Deps) -> WorkItem:
    """One ticket's work item: reading, priority, queue, tier, assignee, status, history."""
    return await get_work_item(ticket_id, deps)


@router.post("/work-items/{ticket_id}/status", response_model=WorkItem)
async def change_status(ticket_id: str, body: StatusRequest, user: Staff, deps: Deps) -> WorkItem:
    """Move the work item along its life cycle; 409 lists the moves allowed from here."""
    return await lifecycle.set_status(ticket_id, body, person(user), deps)


@router.post("/work-items/{ticket_id}/resolve", response_model=WorkItem)
async def resolve(ticket_id: str, body: ResolveRequest, user: Staff, deps: Deps) -> WorkItem:
    """Record the resolution; the customer is asked whether the ticket may be closed."""
    return await lifecycle.resolve(ticket_id, body, person(user), deps)


@router.post("/work-items/{ticket_id}/close", response_model=WorkItem)
async def close(ticket_id: str, body: CloseRequest, user: Staff, deps: Deps) -> WorkItem:
    """Close a resolved ticket (the customer confirmed, or nothing more is expected)."""
    return await lifecycle.close(ticket_id, body, person(user), deps)


@router.post("/work-items/{ticket_id}/assign", response_model=WorkItem)
async def assign(ticket_id: str, body: AssignRequest, user: Staff, deps: Deps) -> WorkItem:
    """Give the ticket to an agent of its queue and tier, within their capacity."""
    return await work.assign(ticket_id, body.agent, person(user), body.reason, deps)


@router.post("/work-items/{ticket_id}/claim", response_model=WorkItem)
async def claim(ticket_id: str, user: Staff, deps: Deps) -> WorkItem:
    """Take the ticket yourself (your login is your agent id)."""
    return await work.assign(ticket_id, user.sub, person(user), "", deps, claim=True)


@router.post("/work-items/{ticket_id}/escalate", response_model=WorkItem)
async def escalate(ticket_id: str, body: EscalateRequest, user: Staff, deps: Deps) -> WorkItem:
    """Move the ticket up a tier with the reason and the symptoms seen; the queue is alerted."""
    reason = body.reason + (f" (tried: {'; '.join(body.tried)})" if body.tried else "")
    after = await work.escalate(ticket_id, "manual", person(user), reason, deps, body.symptoms)
    return after or await get_work_item(ticket_id, deps)


@router.post("/work-items/{ticket_id}/classify", response_model=WorkItem)
async def classify(ticket_id: str, body: ClassifyRequest, user: Staff, deps: Deps) -> WorkItem:
    """Correct the type, kind, impact, urgency or queue; the priority follows, the correction
    is kept."""
    return await reading.correct(ticket_id, body, person(user), deps)


# Queues and rules live in the one configuration document, read whole (and cached) anyway:
# their pages are cut from it (shared.paging.slice_of), by a unique key.
BY_KEY = Order((("key", 1, str),))
BY_ORDER = Order((("order", 1, int), ("id", 1, str)))


@router.get("/queues", response_model=Page[Queue])
async def list_queues(_: Staff, deps: Deps, paging: Paging) -> Page[Queue]:
    """The queues tickets are routed to, by key."""
    return page(slice_of((await current_config(deps)).queues, BY_KEY, paging))


@router.put("/queues/{key}", response_model=Queue)
async def put_queue(key: str, body: Queue, _: Admin, deps: Deps) -> Queue:
    """Add or change a queue."""
    _same(key, body.key)
    await setup.put_entry(deps, "queues", body)
    return body


@router.get("/queues/{key}/work-items", response_model=Page[WorkItem])
async def queue_worklist(key: str, _: Staff, deps: Deps, paging: Paging) -> Page[WorkItem]:
    """The queue's open work: highest priority first, then the SLA due soonest, then oldest
    (then by ticket id)."""
    return page(await worklist(key, paging.limit, paging.after(WORKLIST), deps))


@router.get("/routing-rules", response_model=Page[RoutingRule])
async def list_routing_rules(_: Staff, deps: Deps, paging: Paging) -> Page[RoutingRule]:
    """Routing rules, tried by `order` (then id); the first that matches picks the queue."""
    return page(slice_of((await current_config(deps)).routing_rules, BY_ORDER, paging))


@router.put("/routing-rules/{rule_id}", response_model=RoutingRule)
async def put_routing_rule(rule_id: str, body: RoutingRule, _: Admin, deps: Deps) -> RoutingRule:
    """Add or change a routing rule."""
    _same(rule_id, body.id)
    await setup.put_entry(deps, "routing_rules", body)
    return body


@router.delete("/routing-rules/{rule_id}", status_code=204)
async def delete_routing_rule(rule_id: str, _: Admin, deps: Deps) -> None:
    """Remove a routing rule."""
    await setup.delete_entry(deps, "routing_rules", rule_id)


@router.get("/classification-rules", response_model=Page[ClassificationRule])
async def list_classification_rules(
    _: Staff, deps: Deps, paging: Paging
) -> Page[ClassificationRule]:
    """The evidence rules that score a ticket's type and request kind, by id."""
    return page(slice_of((await current_config(deps)).classification_rules, BY_ITEM_ID, paging))


@router.put("/classification-rules/{rule_id}", response_model=ClassificationRule)
async def put_classification_rule(
    rule_id: str, body: ClassificationRule, _: Admin, deps: Deps
) -> ClassificationRule:
    """Add or change a classification rule."""
    _same(rule_id, body.id)
    await setup.put_entry(deps, "classification_rules", body)
    return body


@router.delete("/classification-rules/{rule_id}", status_code=204)
async def delete_classification_rule(rule_id: str, _: Admin, deps: Deps) -> None:
    """Remove a classification rule."""
    await setup.delete_entry(deps, "classification_rules", rule_id)


@router.get("/priority-matrix", response_model=PriorityMatrix)
async def get_matrix(_: Staff, deps: Deps) -> PriorityMatrix:
    """impact x urgency -> priority, and the uplifts of service levels and critical assets."""
    return (await current_config(deps)).matrix


@router.put("/priority-matrix", response_model=PriorityMatrix)
async def put_matrix(body: PriorityMatrix, _: Admin, deps: Deps) -> PriorityMatrix:
    """Replace the matrix (every cell given); new tickets use it."""
    return await setup.put_matrix(deps, body)


@router.get("/text-signals", response_model=TextSignals)
async def get_signals(_: Staff, deps: Deps) -> TextSignals:
    """Words that tell impact and urgency when the requester did not say."""
    return (await current_config(deps)).signals


@router.put("/text-signals", response_model=TextSignals)
async def put_signals(body: TextSignals, _: Admin, deps: Deps) -> TextSignals:
    """Replace the impact and urgency words."""
    return await setup.put_signals(deps, body)


@router.post("/agents", status_code=201, response_model=Agent)
async def add_agent(body: Agent, _: Admin, deps: Deps) -> Agent:
    """Register an agent with tier, queues, skills, capacity and availability."""
    if not await deps.agents.insert_agent(body):
        raise Conflict(f"agent {body.id} exists already")
    return body


@router.get("/agents", response_model=Page[Agent])
async def list_agents(
    _: Staff,
    deps: Deps,
    limit: Limit = 100,
    cursor: Cursor = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[Agent]:
    """Agents by id, optionally those working one queue."""
    agents = await deps.agents.list_agents(queue, limit, decode_cursor(cursor))
    nxt = encode_cursor(agents[-1].id) if len(agents) == limit else None
    return Page[Agent](items=agents, next_cursor=nxt)


@router.get("/agents/{agent_id}", response_model=Agent)
async def get_agent(agent_id: str, _: Staff, deps: Deps) -> Agent:
    """One agent."""
    agent = await deps.agents.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent


@router.patch("/agents/{agent_id}", response_model=Agent)
async def update_agent(agent_id: str, body: AgentUpdate, _: Admin, deps: Deps) -> Agent:
    """Change an agent's availability (on shift, on call), capacity, queues, skills or tier."""
    return await setup.update_agent(agent_id, body, deps)


@router.get("/agents/{agent_id}/alerts", response_model=Page[Alert])
async def agent_alerts(agent_id: str, _: Staff, deps: Deps, paging: Paging) -> Page[Alert]:
    """Escalations the agent was alerted to, newest first."""
    return page(await deps.agents.alerts_of(agent_id, paging.limit, paging.after(NEWEST_ALERTS)))


def _same(path_key: str, body_key: str) -> None:
    if path_key != body_key:
        raise DomainError(f"the path names {path_key} but the body {body_key}")
