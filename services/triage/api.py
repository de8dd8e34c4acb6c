"""Triage's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from shared.auth import STAFF, Principal, require
from shared.paging import Limit
from shared.runtime import app_deps

from . import service
from .domain import DEFAULT_QUEUES
from .service import TriageDeps
from .store import WorkItem

router = APIRouter(prefix="/v1", tags=["work"])
Deps = Annotated[TriageDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


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
