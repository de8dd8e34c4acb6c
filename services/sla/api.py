"""SLA's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from shared.auth import STAFF, Principal, require
from shared.runtime import app_deps

from . import service
from .service import SlaDeps
from .store import Clock

router = APIRouter(prefix="/v1/sla", tags=["sla"])
Deps = Annotated[SlaDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


@router.get("/clocks/{ticket_id}", response_model=Clock)
async def get_clock(ticket_id: str, _: Staff, deps: Deps) -> Clock:
    """A ticket's SLA clock: policy, targets, due times and state."""
    return await service.get_clock(ticket_id, deps)
