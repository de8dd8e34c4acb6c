"""Reporting's HTTP routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shared.auth import STAFF, Principal, require
from shared.errors import NotFound
from shared.runtime import app_deps

from . import service
from .service import ReportingDeps, Summary

router = APIRouter(prefix="/v1", tags=["reports"])
Deps = Annotated[ReportingDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


@router.get("/summary", response_model=Summary)
async def get_summary(
    _: Staff,
    deps: Deps,
    since: Annotated[date | None, Query(description="First day counted")] = None,
) -> Summary:
    """Live counters: tickets created, triaged, resolved, closed; SLA clocks; queues, priorities."""
    return await service.summary(since, deps)


@router.get("/facts/{ticket_id}")
async def get_fact(ticket_id: str, _: Staff, deps: Deps) -> dict[str, object]:
    """A ticket's fact document as the event log tells it: stage times and durations (seconds),
    classification, routing, agent, organisation, site, channel, reopen count, first-contact
    resolution, SLA outcome per target, feedback."""
    found = await service.fact(ticket_id, deps)
    if found is None:
        raise NotFound(f"no facts for ticket {ticket_id} (yet)")
    return found
