"""Problems' use cases."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.clock import Clock
from shared.errors import NotFound
from shared.events.intake import TicketCreated

from . import metrics
from .domain import jaccard, tokens
from .store import Incident, ProblemsStore

CANDIDATES = 200
MIN_SIMILARITY = 0.2


@dataclass
class ProblemsDeps:
    store: ProblemsStore
    clock: Clock


class SimilarIncident(BaseModel):
    ticket_id: str
    number: str
    subject: str
    score: float


async def index_incident(event: TicketCreated, deps: ProblemsDeps) -> None:
    """Keep every new ticket in the incident index, for recurrence and similarity."""
    ticket = event.data
    incident = Incident(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        organization_id=ticket.organization_id,
        asset=ticket.asset,
        product=ticket.product,
        tokens=tokens(ticket.subject, ticket.description, ticket.product, ticket.asset),
        created_at=ticket.created_at,
    )
    if await deps.store.index_incident(incident):
        metrics.INCIDENTS_INDEXED.inc()


async def similar_incidents(
    ticket_id: str, limit: int, deps: ProblemsDeps
) -> list[SimilarIncident]:
    incident = await deps.store.get_incident(ticket_id)
    if incident is None:
        raise NotFound(f"ticket {ticket_id} is not indexed (yet)")
    scored = [
        SimilarIncident(
            ticket_id=other.ticket_id,
            number=other.number,
            subject=other.subject,
            score=round(jaccard(incident.tokens, other.tokens), 3),
        )
        for other in await deps.store.sharing_tokens(incident.tokens, CANDIDATES)
        if other.ticket_id != ticket_id
    ]
    best = sorted((s for s in scored if s.score >= MIN_SIMILARITY), key=lambda s: -s.score)
    return best[:limit]
