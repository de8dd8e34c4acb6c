"""The incident index: every new ticket is kept (ticket.created); the ones triage classifies as
incidents feed recurrence detection, which names k similar incidents within the window once
(problem.candidate_detected); every new ticket gets suggestions (ticket.suggestions): the known
errors that match it and similar tickets resolved before, with their resolutions.

The detectors live in memory, in every replica, and learn from the store: a replica that takes
a triaged incident marks it (a keyed insert with the time), then reads every mark since its last
read, so each replica's detector holds the incidents of all partitions. Two replicas grouping
the same incidents differently cannot both announce: a candidate first claims its incidents one
by one (keyed inserts). At start the detectors are rebuilt the same way.
"""

from __future__ import annotations

import logging
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
from shared.periodic import every

from .. import metrics
from ..domain.features import IncidentText
from ..domain.recurrence import Candidate
from ..domain.text import tokens
from ..store import CANDIDATES, SUGGESTIONS, Incident, Resolution
from . import ProblemsDeps
from .knowledge import search

log = logging.getLogger(__name__)
RESOLVED_DAYS = 180
SYNC_MARGIN = timedelta(minutes=1)  # marks are read again this far back: clocks and races
RESOLVED_SYNC = timedelta(seconds=30)
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
    if await deps.store.is_marked(incident.ticket_id):  # triaged before it was indexed
        await sync(deps)
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
    await sync_resolved(deps)
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
    """An incident (as triage classified it) is marked for every replica to see, then joins
    this replica's detection with the others' marks read first."""
    data = event.data
    if data.type is not TicketType.INCIDENT:
        return
    await deps.store.mark_incident(data.ticket_id, deps.clock.now())
    await sync(deps)


async def sync(deps: ProblemsDeps) -> None:
    """Bring the detector up to the marks of every replica (and its own): each marked incident
    not yet in it joins, oldest first; a group it completes is named. An incident marked before
    its ticket.created arrived joins when a later sync finds it indexed."""
    async with deps.detection.lock:
        now = deps.clock.now()
        state = deps.detection
        since = (state.marks_read_at or now - deps.recurrence.window) - SYNC_MARGIN
        marks = await deps.store.marked_since(since)
        marks += [(t, now) for t in state.waiting if t not in {m[0] for m in marks}]
        for ticket_id, at in marks:
            if ticket_id in state.joined:
                continue
            incident = await deps.store.get_incident(ticket_id)
            if incident is None:
                state.waiting.add(ticket_id)
                continue
            state.waiting.discard(ticket_id)
            state.joined[ticket_id] = at
            candidate = deps.recurrence.add(text_of(incident))
            if candidate is not None:
                await announce(candidate, deps)
        state.marks_read_at = now
        for ticket_id, at in list(state.joined.items()):  # what left the window is forgotten
            if at < now - deps.recurrence.window - SYNC_MARGIN:
                del state.joined[ticket_id]


async def announce(candidate: Candidate, deps: ProblemsDeps) -> None:
    """Name the group, unless another replica's grouping claimed one of its incidents first:
    then they count as announced here too."""
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
            ticket_id=data.ticket_id,
            number=data.number,
            resolution=data.resolution,
            at=deps.clock.now(),
        )
    )
    incident = await deps.store.get_incident(data.ticket_id)
    if incident is not None:  # at once here; the other replicas read it within RESOLVED_SYNC
        deps.resolved.add(text_of(incident))


async def sync_resolved(deps: ProblemsDeps, force: bool = False) -> None:
    """Bring the resolved tickets' detector up to every replica's resolutions, at most every
    RESOLVED_SYNC (suggestions may lag that much behind a resolution elsewhere)."""
    now = deps.clock.now()
    state = deps.detection
    last = state.resolved_read_at
    if not force and last is not None and now - last < RESOLVED_SYNC:
        return
    since = (last or now - timedelta(days=RESOLVED_DAYS)) - SYNC_MARGIN
    for resolution in await deps.store.resolved_since(since):
        incident = await deps.store.get_incident(resolution.ticket_id)
        if incident is not None:
            deps.resolved.add(text_of(incident))
    state.resolved_read_at = now


async def rebuild(deps: ProblemsDeps) -> None:
    """The detectors as they stood: the candidates announced, the window's incidents and the
    resolved tickets of the last RESOLVED_DAYS days. A group completed but not announced before
    a crash is announced now."""
    for members in await deps.store.announced():
        deps.recurrence.mark_announced(members)
    await sync(deps)
    await sync_resolved(deps, force=True)


async def housekeeping(deps: ProblemsDeps, interval: float) -> None:
    """Now and then (hourly): marks older than the window (and a day) and record claims older
    than a day are dropped."""

    async def purge() -> None:
        await deps.store.purge_marks(deps.clock.now() - deps.recurrence.window - timedelta(days=1))
        await deps.store.purge_claims()

    await every(interval, purge, "purging old incident marks")
