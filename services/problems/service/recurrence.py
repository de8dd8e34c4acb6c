"""Recurrence detection across replicas: k similar incidents within the window are named once
as a problem candidate (problem.candidate_detected).

Each replica keeps a detector in memory (domain/recurrence.py) and learns from the store. The
replica that takes a triaged incident puts it in the detection window, a small live set keyed
by ticket (store/incidents.py), then reads what entered it since its last read: so every
detector holds the incidents of all partitions, whichever replica took them. A group that a
detector completes is claimed incident by incident with an atomic conditional update
(`{_id: incident, candidate: null}` -> this candidate): two replicas grouping the same
incidents differently cannot both win, and the one that loses gives its claims back. The
candidate is then recorded with its announcement, once (keyed by its id, which the members
determine). At start the detector is rebuilt from the window, after giving back the claims of
a candidate that a crash kept from being recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.events.common import TicketType
from shared.events.problems import CandidateData, ProblemCandidateDetected
from shared.events.triage import TicketTriaged

from .. import metrics
from ..domain.features import IncidentText
from ..domain.recurrence import Candidate
from ..store import CANDIDATES, Incident, InWindow
from . import ProblemsDeps

SYNC_MARGIN = timedelta(minutes=1)  # the window is read again this far back: clocks and races
WINDOW_KEPT = timedelta(hours=1)  # incidents stay in the live set this long past the window
CLAIM_SETTLE = timedelta(seconds=30)  # a claim this old with no candidate recorded was left


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


async def triaged(event: TicketTriaged, deps: ProblemsDeps) -> None:
    """An incident (as triage classified it) enters the window for every replica to see, then
    joins this replica's detector with what the others added first."""
    data = event.data
    if data.type is not TicketType.INCIDENT:
        return
    await deps.incidents.enter_window(data.ticket_id, deps.clock.now())
    await sync(deps)


async def sync(deps: ProblemsDeps) -> None:
    """Bring the detector up to the window: each incident not yet in it joins, oldest first; a
    group it completes is named. An incident whose ticket.created has not arrived yet joins
    at a later sync (index_incident syncs when it arrives).

    The detector changes only between the reads and the writes, with no await in between, so
    two syncs of this replica at once never add an incident twice."""
    now = deps.clock.now()
    state = deps.detection
    since = (state.window_read_at or now - deps.recurrence.window) - SYNC_MARGIN
    read = await deps.incidents.window_since(since)
    entries = {e.ticket_id: e for e in state.waiting.values()}
    entries.update((e.ticket_id, e) for e in read if e.ticket_id not in state.joined)
    found = await deps.incidents.get_incidents(list(entries))
    completed = _join(deps, sorted(entries.values(), key=lambda e: (e.at, e.ticket_id)), found)
    state.window_read_at = max(now, state.window_read_at or now)
    _forget_old(deps, now)
    for candidate in completed:
        await announce(candidate, deps)


def _join(
    deps: ProblemsDeps, entries: list[InWindow], found: dict[str, Incident]
) -> list[Candidate]:
    state = deps.detection
    completed: list[Candidate] = []
    for entry in entries:
        if entry.ticket_id in state.joined:
            continue
        incident = found.get(entry.ticket_id)
        if incident is None:
            state.waiting[entry.ticket_id] = entry
            continue
        state.waiting.pop(entry.ticket_id, None)
        state.joined[entry.ticket_id] = entry.at
        if entry.candidate is not None:  # claimed by another replica's candidate
            deps.recurrence.assign([entry.ticket_id], entry.candidate)
        candidate = deps.recurrence.add(text_of(incident))
        if candidate is not None:
            completed.append(candidate)
    return completed


def _forget_old(deps: ProblemsDeps, now: datetime) -> None:
    """What left the window is forgotten (the detector evicts it on its own)."""
    state = deps.detection
    horizon = now - deps.recurrence.window - SYNC_MARGIN
    for ticket_id, at in list(state.joined.items()):
        if at < horizon:
            del state.joined[ticket_id]
    for ticket_id, entry in list(state.waiting.items()):
        if entry.at < horizon:
            del state.waiting[ticket_id]


async def announce(candidate: Candidate, deps: ProblemsDeps) -> bool:
    """Claim the group's incidents and record the candidate with its announcement; False
    when another candidate holds one of them (nothing is announced, and in this detector the
    incidents count as announced all the same) or the candidate was recorded already."""
    now = deps.clock.now()
    holder = await deps.incidents.claim(candidate.candidate_id, candidate.ticket_ids, now)
    if holder is not None:
        return False
    detected = ProblemCandidateDetected.create(
        source="problems",
        subject=candidate.candidate_id,
        time=now,
        data=CandidateData(
            candidate_id=candidate.candidate_id,
            ticket_ids=candidate.ticket_ids,
            reason=candidate.reason,
            score=round(candidate.score, 4),
        ),
    )
    async with deps.relay.writing(CANDIDATES, candidate.candidate_id):
        recorded = await deps.incidents.record_candidate(
            candidate.candidate_id, candidate.ticket_ids, now, [detected]
        )
    if recorded:
        metrics.CANDIDATES.inc()
    return recorded


async def release_left_claims(deps: ProblemsDeps) -> int:
    """Give back the claims of candidates never recorded (a replica stopped between claiming
    and recording): their incidents are grouped again. Claims younger than CLAIM_SETTLE may
    belong to a replica recording its candidate right now; they stay."""
    now = deps.clock.now()
    entries = await deps.incidents.window_since(now - deps.recurrence.window - SYNC_MARGIN)
    claimed: dict[str, list[str]] = {}
    for entry in entries:
        settled = entry.claimed_at is not None and now - entry.claimed_at >= CLAIM_SETTLE
        if entry.candidate is not None and settled:
            claimed.setdefault(entry.candidate, []).append(entry.ticket_id)
    recorded = await deps.incidents.recorded_candidates(list(claimed))
    left = {cid: ids for cid, ids in claimed.items() if cid not in recorded}
    for cid, ticket_ids in left.items():
        await deps.incidents.give_back(cid, ticket_ids)
    return len(left)


async def rebuild(deps: ProblemsDeps) -> None:
    """The detector as it stood, from the window: incidents claimed by a recorded candidate
    are its members (never named again); a group completed but not named before a crash is
    named now."""
    await release_left_claims(deps)
    await sync(deps)
