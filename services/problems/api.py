"""Problems' HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shared.auth import STAFF, Principal, require
from shared.runtime import app_deps

from . import service
from .service import ProblemsDeps, SimilarIncident

router = APIRouter(prefix="/v1", tags=["problems"])
Deps = Annotated[ProblemsDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]


class SuggestionsView(BaseModel):
    ticket_id: str
    similar_incidents: list[SimilarIncident]


@router.get("/suggestions/{ticket_id}", response_model=SuggestionsView)
async def suggestions(
    ticket_id: str, _: Staff, deps: Deps, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> SuggestionsView:
    """Earlier incidents that look like this ticket, most similar first."""
    similar = await service.similar_incidents(ticket_id, limit, deps)
    return SuggestionsView(ticket_id=ticket_id, similar_incidents=similar)
