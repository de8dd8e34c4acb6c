"""Triage's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from shared.auth import STAFF, Principal, Role, require
from shared.errors import Conflict, NotFound
from shared.events.common import Person
from shared.paging import Limit, Page
from shared.runtime import app_deps

from . import service
from .domain import DEFAULT_QUEUES, Agent, CloseRequest, ResolveRequest, StatusRequest
from .service import TriageDeps
from .store import WorkItem

router = APIRouter(prefix="/v1", tags=["work"])
Deps = Annotated[TriageDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


@router.get("/queues")
async def list_queues(_: Staff) -> dict[str, list[dict[str, str]]]:
    """The queues tickets are routed to."""
    return {"items": [{"key": key} for key in DEFAULT_QUEUES]}


@router.get("/queues/{key}/work-items", response_model=list[WorkItem])
async def queue_worklist(key: str, _: Staff, deps: Deps, limit: Limit = 50) -> list[WorkItem]:
    """The queue's open work, highest priority first, then oldest."""
    return await service.worklist(key, limit, deps)


@router.get("/work-items/{ticket_id}", response_model=WorkItem)
async def get_work_item(ticket_id: str, _: Staff, deps: Deps) -> WorkItem:
    """One ticket's work item: classification, priority, queue, tier, status, history."""
    return await service.get_work_item(ticket_id, deps)


@router.post("/work-items/{ticket_id}/status", response_model=WorkItem)
async def change_status(ticket_id: str, body: StatusRequest, user: Staff, deps: Deps) -> WorkItem:
    """Move the work item along its life cycle; 409 lists the moves allowed from here."""
    return await service.set_status(ticket_id, body, _person(user), deps)


@router.post("/work-items/{ticket_id}/resolve", response_model=WorkItem)
async def resolve(ticket_id: str, body: ResolveRequest, user: Staff, deps: Deps) -> WorkItem:
    """Record the resolution; the customer is asked whether the ticket may be closed."""
    return await service.resolve(ticket_id, body, _person(user), deps)


@router.post("/work-items/{ticket_id}/close", response_model=WorkItem)
async def close(ticket_id: str, body: CloseRequest, user: Staff, deps: Deps) -> WorkItem:
    """Close a resolved ticket (the customer confirmed, or nothing more is expected)."""
    return await service.close(ticket_id, body, _person(user), deps)


def _person(user: Principal) -> Person:
    return Person(email=user.email, name=user.name, subject_id=user.sub)


@router.post("/agents", status_code=201, response_model=Agent)
async def add_agent(body: Agent, _: Admin, deps: Deps) -> Agent:
    """Register an agent with tier, queues, skills and capacity."""
    if not await deps.agents.insert_agent(body):
        raise Conflict(f"agent {body.id} exists already")
    return body


@router.get("/agents", response_model=Page[Agent])
async def list_agents(
    _: Staff, deps: Deps, limit: Limit = 100, queue: str | None = None
) -> Page[Agent]:
    """Agents, optionally those working one queue."""
    return Page[Agent](items=await deps.agents.list_agents(queue, limit))


@router.get("/agents/{agent_id}", response_model=Agent)
async def get_agent(agent_id: str, _: Staff, deps: Deps) -> Agent:
    """One agent."""
    agent = await deps.agents.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent
