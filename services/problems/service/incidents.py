"""The incident index: every new ticket is kept (ticket.created) and gets suggestions
(ticket.suggestions): the known errors that match it and similar tickets resolved before,
with their resolutions. The tickets triage classifies as incidents feed recurrence detection
(service/recurrence.py).

Each replica keeps the resolved tickets of the last RESOLVED_DAYS in a detector in memory: it
adds the ones it takes itself at once, and every RESOLVED_SYNC reads the ones the others took
from the live set of the last hour's resolutions (by time, indexed), not from all of them. A
replica that could not read for longer than that (an outage) reads all resolutions since.
"""

from __future__ import annotations

from datetime import timedelta

from shared.events.intake import TicketCreated
from shared.events.problems import Suggestion, TicketSuggestions, TicketSuggestionsData
from shared.events.triage import TicketResolved
from shared.periodic import every
from shared.records import BadRecord

from .. import metrics
from ..domain.text import tokens
from ..store import SUGGESTIONS, Incident, Resolution
from . import ProblemsDeps
from .knowledge import search
from .recurrence import SYNC_MARGIN, WINDOW_KEPT, sync, text_of

RESOLVED_DAYS = 180
RESOLVED_SYNC = 30.0  # seconds: suggestions may lag this much behind a resolution elsewhere
RECENT_KEPT = timedelta(hours=1)  # resolutions stay in the live set this long
SUGGESTED = 3
KNOWN_ERROR_COVERAGE = 0.3  # share of a known error's title and symptoms found in the ticket
SIMILAR_TICKET = 0.35


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
    if await deps.incidents.index_incident(incident):
        metrics.INCIDENTS_INDEXED.inc()
    if await deps.incidents.in_window(incident.ticket_id):  # triaged before it was indexed
        await sync(deps)
    await suggest(incident, deps)


async def suggest(incident: Incident, deps: ProblemsDeps) -> list[Suggestion]:
    """The best known errors and resolved tickets for a new ticket, announced once."""
    try:
        known = await deps.incidents.suggested(incident.ticket_id)
    except BadRecord:  # suggested before, and kept unreadable: logged and counted
        return []
    if known is not None:
        return known.suggestions
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
    found += await _resolved_like(incident, text, 2 * SUGGESTED - len(found), deps)
    event = TicketSuggestions.create(
        source="problems",
        subject=incident.ticket_id,
        time=deps.clock.now(),
        data=TicketSuggestionsData(ticket_id=incident.ticket_id, suggestions=found),
    )
    view = {"ticket_id": incident.ticket_id, "suggestions": [s.model_dump() for s in found]}
    async with deps.relay.writing(SUGGESTIONS, incident.ticket_id):
        await deps.incidents.save_suggestions(incident.ticket_id, view, [event])
    return found


async def _resolved_like(
    incident: Incident, text: str, room: int, deps: ProblemsDeps
) -> list[Suggestion]:
    similar = deps.resolved.similar(text_of(incident), SUGGESTED * 3)
    close = [(t, s) for t, s in similar if s >= SIMILAR_TICKET and t != incident.ticket_id]
    resolutions = await deps.incidents.resolutions([t for t, _ in close])
    found: list[Suggestion] = []
    for ticket_id, score in close:
        done = resolutions.get(ticket_id)
        if done is not None and len(found) < room:
            found.append(
                Suggestion(
                    kind="resolved_ticket",
                    ref=ticket_id,
                    title=done.number or ticket_id,
                    score=round(score, 4),
                    detail=done.resolution[:500],
                )
            )
    return found


async def resolved(event: TicketResolved, deps: ProblemsDeps) -> None:
    """A resolved ticket is remembered with its resolution, for suggestions to later ones."""
    data = event.data
    await deps.incidents.remember_resolution(
        Resolution(
            ticket_id=data.ticket_id,
            number=data.number,
            resolution=data.resolution,
            at=deps.clock.now(),
        )
    )
    found = await deps.incidents.get_incidents([data.ticket_id])  # left out if it does not load
    if data.ticket_id in found:  # at once here; the other replicas read it within RESOLVED_SYNC
        deps.resolved.add(text_of(found[data.ticket_id]))


async def sync_resolved(deps: ProblemsDeps) -> int:
    """Bring the resolved tickets' detector up to every replica's resolutions: from the live
    set, or from all resolutions at start or after a gap longer than the live set keeps.
    Returns how many were read."""
    now = deps.clock.now()
    state = deps.detection
    last = state.resolved_read_at
    if last is None or now - last > RECENT_KEPT - 2 * SYNC_MARGIN:
        since = (last or now - timedelta(days=RESOLVED_DAYS)) - SYNC_MARGIN
        ticket_ids = await deps.incidents.resolved_since(since)
    else:
        ticket_ids = await deps.incidents.recently_resolved(last - SYNC_MARGIN)
    incidents = await deps.incidents.get_incidents(ticket_ids)
    for ticket_id in ticket_ids:  # a repeat of one already added changes nothing
        if ticket_id in incidents:
            deps.resolved.add(text_of(incidents[ticket_id]))
    state.resolved_read_at = max(now, last or now)
    return len(ticket_ids)


async def run_resolved_sync(deps: ProblemsDeps, interval: float = RESOLVED_SYNC) -> None:
    await every(interval, lambda: sync_resolved(deps), "reading other replicas' resolutions")


async def housekeeping(deps: ProblemsDeps, interval: float) -> None:
    """Now and then (hourly): incidents past the window and resolutions every replica has
    read leave their live sets."""

    async def purge() -> None:
        now = deps.clock.now()
        await deps.incidents.leave_window(now - deps.recurrence.window - WINDOW_KEPT)
        await deps.incidents.forget_resolved(now - RECENT_KEPT)

    await every(interval, purge, "purging the incident window and recent resolutions")
