"""What problem management tells the work items: the problem a ticket is an incident of, the
suggestions for a new ticket, and a published release with the fix tickets waited for."""

from __future__ import annotations

import logging

from shared.errors import NotFound
from shared.events.problems import ProblemIncidentLinked, ReleasePublished, TicketSuggestions

from ..domain.lifecycle import DONE, ResolveRequest
from ..store.items import HistoryEntry, WorkItem
from . import Change, TriageDeps, change_item, get_work_item
from .lifecycle import resolve

log = logging.getLogger(__name__)


async def problem_linked(event: ProblemIncidentLinked, deps: TriageDeps) -> None:
    data = event.data
    if data.ticket_id is None:
        return
    now = event.time

    def decide(item: WorkItem) -> Change | None:
        if data.unlinked:
            if item.problem_id != data.problem_id:
                return None
            what, problem_id = f"unlinked from problem {data.problem_id}", None
        else:
            if item.problem_id == data.problem_id:
                return None
            what, problem_id = f"linked to problem {data.problem_id}", data.problem_id
        entry = HistoryEntry(at=now, what=what, by="problems")
        history = [*item.history, entry]
        return item.model_copy(update={"problem_id": problem_id, "history": history}), []

    try:
        await change_item(data.ticket_id, deps, decide)
    except NotFound:
        log.warning("problem %s names ticket %s, unknown here", data.problem_id, data.ticket_id)


async def suggested(event: TicketSuggestions, deps: TriageDeps) -> None:
    suggestions = event.data.suggestions

    def decide(item: WorkItem) -> Change | None:
        if item.suggestions == suggestions:
            return None
        return item.model_copy(update={"suggestions": suggestions}), []

    try:
        await change_item(event.data.ticket_id, deps, decide)
    except NotFound:
        return  # suggested before triage stored the item: it is shown without them


async def fix_released(event: ReleasePublished, deps: TriageDeps) -> int:
    """Tickets still open for this fix are resolved with it; resolved ones that waited for it
    ("fix_pending") record that it is out. Returns how many changed."""
    version = event.data.version
    changed = 0
    for ticket_id in event.data.ticket_ids:
        try:
            item = await get_work_item(ticket_id, deps)
        except NotFound:
            continue
        if item.status not in DONE:
            request = ResolveRequest(
                resolution=f"Fixed in release {version}.",
                resolution_code="fix_released",
                fix_release=version,
                problem_id=item.problem_id,
            )
            await resolve(ticket_id, request, None, deps)
            changed += 1
        elif await _recorded(ticket_id, version, deps):
            changed += 1
    return changed


async def _recorded(ticket_id: str, version: str, deps: TriageDeps) -> bool:
    def decide(item: WorkItem) -> Change | None:
        resolution = item.resolution
        if resolution is None or resolution.resolution_code != "fix_pending":
            return None
        done = resolution.model_copy(
            update={"resolution_code": "fix_released", "fix_release": version}
        )
        entry = HistoryEntry(at=deps.clock.now(), what=f"fix released in {version}", by="problems")
        return item.model_copy(update={"resolution": done, "history": [*item.history, entry]}), []

    return await change_item(ticket_id, deps, decide) is not None
