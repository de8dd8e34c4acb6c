"""The incident index: every new ticket is kept (ticket.created); the ones triage classifies as
incidents feed recurrence detection, which names k similar incidents within the window once
(problem.candidate_detected); every new ticket gets suggestions (ticket.suggestions): the known
errors that match it and similar tickets resolved before, with their resolutions.

The detectors live in memory and are rebuilt from the store at start: the recurrence window's
incidents, and the resolved tickets of the last RESOLVED_DAYS days. With several replicas each
detects among the tickets of its own Kafka partitions.
"""

from __future__ import annotations

from datetime import timedelta

from shared.events.common import TicketType
from shared.events.intake import TicketCreated
from shared.events.problems import (
    CandidateData,
    ProblemCandidateDetected,
    Suggestion,
    TicketSuggestions,
    TicketSuggestionsData,
)
from shared.events.triage import TicketResolved, TicketTriaged

from .. import metrics
from ..domain.recurrence import Candidate, IncidentText
from ..domain.text import tokens
from ..store import CANDIDATES, SUGGESTIONS, Incident, Resolution
from . import ProblemsDeps
from .knowledge import search

RESOLVED_DAYS = 180
SUGGESTED = 3
KNOWN_ERROR_COVERAGE = 0.3  # share of a known error's title and symptoms found in the ticket
SIMILAR_TICKET = 0.35


def text_of(incident: Incident) -> IncidentText:
    return IncidentText(
        ticket_id=incident.ticket_id,
        text=f"{incident.subject}\n{incident.description}",
        organization_id=incident.organization_id,
        asset=incident.asset,
        product=incident.product,
        version=incident.version,
        at=incident.created_at,
    )


async def index_incident(event: TicketCreated, deps: ProblemsDeps) -> None:
    """Keep every new ticket in the index, then suggest what may solve it."""
    ticket = event.data
    incident = Incident(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        description=ticket.description[:20_000],
        organization_id=ticket.organization_id,
        site=ticket.site,
        asset=ticket.asset,
        product=ticket.product,
        version=ticket.version,
        tokens=tokens(ticket.subject, ticket.description, ticket.product, ticket.asset),
        created_at=ticket.created_at,
    )
    if await deps.store.index_incident(incident):
        metrics.INCIDENTS_INDEXED.inc()
    if await deps.store.is_marked(incident.ticket_id, "incident"):  # triaged before indexed
        await recur(incident, deps)
    await suggest(incident, deps)


async def suggest(incident: Incident, deps: ProblemsDeps) -> list[Suggestion]:
    """The best known errors and resolved tickets for a new ticket, announced once."""
    known = await deps.store.get_suggestions(incident.ticket_id)
    if known is not None:
        return [Suggestion.model_validate(s) for s in known["suggestions"]]
    text = f"{incident.subject}\n{incident.description}\n{incident.product or ''}"
    found: list[Suggestion] = [
        Suggestion(
            kind=hit.item.kind.value,
            ref=hit.item.id,
            title=hit.item.title,
            score=hit.coverage,
            detail=hit.item.workaround or hit.item.fix or hit.item.body[:500],
        )
        for hit in await search(text, 10, deps)
        if hit.coverage >= KNOWN_ERROR_COVERAGE
    ][:SUGGESTED]
    similar = deps.resolved.similar(text_of(incident), SUGGESTED * 3)
    close = [(t, s) for t, s in similar if s >= SIMILAR_TICKET and t != incident.ticket_id]
    resolutions = await deps.store.resolutions([t for t, _ in close])
    for ticket_id, score in close:
        done = resolutions.get(ticket_id)
        if done is not None and len(found) < 2 * SUGGESTED:
            found.append(
                Suggestion(
                    kind="resolved_ticket",
                    ref=ticket_id,
                    title=done.number or ticket_id,
                    score=round(score, 4),
                    detail=done.resolution[:500],
                )
            )
    event = TicketSuggestions.create(
        source="problems",
        subject=incident.ticket_id,
        time=deps.clock.now(),
        data=TicketSuggestionsData(ticket_id=incident.ticket_id, suggestions=found),
    )
    view = {"ticket_id": incident.ticket_id, "suggestions": [s.model_dump() for s in found]}
    async with deps.relay.writing(SUGGESTIONS, incident.ticket_id):
        await deps.store.save_suggestions(incident.ticket_id, view, [event])
    return found


async def triaged(event: TicketTriaged, deps: ProblemsDeps) -> None:
    """An incident (as triage classified it) joins recurrence detection, once."""
    data = event.data
    if data.type is not TicketType.INCIDENT:
        return
    await deps.store.mark_incident(data.ticket_id, "incident")
    incident = await deps.store.get_incident(data.ticket_id)
    if incident is not None:  # else its ticket.created (another topic) is still on its way
        await recur(incident, deps)


async def recur(incident: Incident, deps: ProblemsDeps) -> None:
    """The incident joins detection (a second time is a no-op); a group complete is named."""
    candidate = deps.recurrence.add(text_of(incident))
    if candidate is not None:
        await announce(candidate, deps)


async def announce(candidate: Candidate, deps: ProblemsDeps) -> None:
    detected = ProblemCandidateDetected.create(
        source="problems",
        subject=candidate.candidate_id,
        time=deps.clock.now(),
        data=CandidateData(
            candidate_id=candidate.candidate_id,
            ticket_ids=candidate.ticket_ids,
            reason=candidate.reason,
            score=round(candidate.score, 4),
        ),
    )
    async with deps.relay.writing(CANDIDATES, candidate.candidate_id):
        announced = await deps.store.announce_candidate(
            candidate.candidate_id, candidate.ticket_ids, [detected]
        )
    if announced:
        metrics.CANDIDATES.inc()


async def resolved(event: TicketResolved, deps: ProblemsDeps) -> None:
    """A resolved ticket is remembered with its resolution, for suggestions to later ones."""
    data = event.data
    await deps.store.remember_resolution(
        Resolution(
            ticket_id=data.ticket_id, number=data.number, resolution=data.resolution, at=event.time
        )
    )
    incident = await deps.store.get_incident(data.ticket_id)
    if incident is not None:
        deps.resolved.add(text_of(incident))


async def rebuild(deps: ProblemsDeps) -> int:
    """The detectors as they stood: the window's incidents (those announced marked so) and
    the resolved tickets of the last RESOLVED_DAYS days. A group completed but not announced
    before a crash is announced now. Returns how many incidents were read."""
    now = deps.clock.now()
    since = now - max(deps.recurrence.window, timedelta(days=RESOLVED_DAYS))
    incidents = await deps.store.incidents_since(since)
    marked = await deps.store.incident_marks("incident")
    deps.recurrence.mark_announced(await deps.store.announced())
    window_start = now - deps.recurrence.window
    resolved_ids = await deps.store.resolved_ids()
    for incident in incidents:
        if incident.ticket_id in marked and incident.created_at >= window_start:
            candidate = deps.recurrence.add(text_of(incident))
            if candidate is not None:
                await announce(candidate, deps)
        if incident.ticket_id in resolved_ids:
            deps.resolved.add(text_of(incident))
    return len(incidents)
