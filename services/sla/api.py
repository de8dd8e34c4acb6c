"""SLA's HTTP routes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shared.auth import STAFF, Principal, require
from shared.events.common import Priority, ServiceLevel
from shared.runtime import app_deps

from . import service
from .domain import ALWAYS_ON, policies
from .service import SlaDeps
from .store import Clock

router = APIRouter(prefix="/v1/sla", tags=["sla"])
Deps = Annotated[SlaDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


@router.get("/clocks/{ticket_id}", response_model=Clock)
async def get_clock(ticket_id: str, _: Staff, deps: Deps) -> Clock:
    """A ticket's SLA clock: policy, targets, due times and state."""
    return await service.get_clock(ticket_id, deps)


class PolicyView(BaseModel):
    id: str
    service_level: ServiceLevel
    priority: Priority
    target_seconds: dict[str, int]


class CalendarView(BaseModel):
    id: str
    time_zone: str
    business_hours: str


@router.get("/policies", response_model=list[PolicyView])
async def list_policies(_: Staff) -> list[PolicyView]:
    """Targets (first response, next update, resolution) per service level and priority."""
    return [PolicyView.model_validate(asdict(p)) for p in policies()]


@router.get("/calendars", response_model=list[CalendarView])
async def list_calendars(_: Staff) -> list[CalendarView]:
    """The business-hours calendars clocks run on."""
    return [CalendarView(id=ALWAYS_ON, time_zone="UTC", business_hours="24x7, no holidays")]
