"""Reporting's HTTP routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shared.auth import STAFF, Principal, require
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
