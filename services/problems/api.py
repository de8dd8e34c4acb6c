"""Problems' HTTP routes: problems and their incidents, known errors and the knowledge base,
suggestions, deficiency reports (and the tracker's webhook), releases, changes, advisories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from shared.auth import STAFF, Principal, Role, require
from shared.errors import DomainError, NotFound
from shared.events.problems import Suggestion
from shared.paging import Cursor, Limit, Order, Page, Paging, Slice, page
from shared.runtime import app_deps

from .domain.changes import Change, ChangeRequest, ChangeStatus, DecisionRequest, OutcomeRequest
from .domain.knowledge import (
    AttemptRequest,
    Knowledge,
    KnowledgeEdit,
    KnowledgeKind,
    KnowledgeRequest,
)
from .domain.notices import Advisory, AdvisoryRequest, Release, ReleaseEdit, ReleaseRequest
from .domain.problems import Problem, ProblemEdit, ProblemRequest, ProblemStatus
from .domain.reports import DeficiencyReport, ReportRequest, ReportUpdate
from .service import ProblemsDeps, advisories, changes, knowledge, problems, releases, reports, who
from .store import LATEST_CLOSED, LATEST_PUBLISHED, LATEST_RELEASED, NEWEST_ID
from .webhooks import SIGNATURE_HEADER, BadSignature, NotConfigured

router = APIRouter(prefix="/v1", tags=["problems"])
Deps = Annotated[ProblemsDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Lead = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]


class Unsigned(DomainError):
    status = 401
    title = "Bad signature"


class Unconfigured(DomainError):
    status = 503
    title = "Webhook not configured"


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {}}}


TRACKER_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _problem("The signature is missing, malformed, out of time or wrong"),
    404: _problem("No such deficiency report"),
    409: _problem("The transition is not allowed, or the report is stored unreadable"),
    422: _problem("The body is signed but is not an update (the field is named)"),
    503: _problem("No secret is configured (HELPDESK_TRACKER_WEBHOOK_SECRET): refused"),
}
NAMES_RECORDS: dict[int | str, dict[str, Any]] = {
    404: _problem("A record the body names (problem_id, fixed_reports) does not exist"),
}


class LinkRequest(BaseModel):
    ticket_id: str = Field(min_length=1, max_length=100)


# Problems


@router.post("/problems", response_model=Problem, status_code=201)
async def open_problem(body: ProblemRequest, user: Staff, deps: Deps) -> Problem:
    """Open a problem: the root cause of one or more incidents, to be found and removed."""
    return await problems.open_problem(body, user, deps)


@router.get("/problems", response_model=Page[Problem])
async def list_problems(
    _: Staff,
    deps: Deps,
    paging: Paging,
    status: ProblemStatus | None = None,
) -> Page[Problem]:
    """Problems, newest first, optionally those with one status."""
    return page(await problems.list_problems(deps, status, paging.limit, paging.after(NEWEST_ID)))


@router.get("/problems/{problem_id}", response_model=Problem)
async def get_problem(problem_id: str, _: Staff, deps: Deps) -> Problem:
    return await problems.get_problem(problem_id, deps)


@router.patch("/problems/{problem_id}", response_model=Problem)
async def edit_problem(problem_id: str, body: ProblemEdit, user: Staff, deps: Deps) -> Problem:
    """Record the root cause, workaround, fix, owner or lessons learned; move the status."""
    return await problems.edit_problem(problem_id, body, user, deps)


@router.post("/problems/{problem_id}/incidents", response_model=Problem)
async def link_incident(problem_id: str, body: LinkRequest, user: Staff, deps: Deps) -> Problem:
    return await problems.link_incident(problem_id, body.ticket_id, user, deps)


@router.delete("/problems/{problem_id}/incidents/{ticket_id}", response_model=Problem)
async def unlink_incident(problem_id: str, ticket_id: str, user: Staff, deps: Deps) -> Problem:
    return await problems.link_incident(problem_id, ticket_id, user, deps, unlink=True)


class Lesson(BaseModel):
    problem_id: str
    title: str
    root_cause: str | None
    fix: str | None
    lessons_learned: str
    incidents: int


@router.get("/lessons-learned", response_model=Page[Lesson])
async def lessons_learned(_: Staff, deps: Deps, paging: Paging) -> Page[Lesson]:
    """What closed problems taught, the last closed first (seed 000 step 5f)."""
    closed = await problems.closed_problems(deps, paging.limit, paging.after(LATEST_CLOSED))
    lessons = [
        Lesson(
            problem_id=p.id,
            title=p.title,
            root_cause=p.root_cause,
            fix=p.fix,
            lessons_learned=p.lessons_learned or "",
            incidents=len(p.ticket_ids),
        )
        for p in closed.items
    ]
    return page(Slice(lessons, closed.more_after))


# Known errors, articles, search, suggestions


@router.post("/known-errors", response_model=Knowledge, status_code=201, responses=NAMES_RECORDS)
async def add_known_error(body: KnowledgeRequest, _: Staff, deps: Deps) -> Knowledge:
    return await knowledge.add_knowledge(KnowledgeKind.KNOWN_ERROR, body, deps)


@router.get("/known-errors", response_model=Page[Knowledge])
async def list_known_errors(_: Staff, deps: Deps, paging: Paging) -> Page[Knowledge]:
    """Known errors, newest first."""
    after = paging.after(NEWEST_ID)
    return page(
        await knowledge.list_knowledge(KnowledgeKind.KNOWN_ERROR, deps, paging.limit, after)
    )


@router.post("/kb/articles", response_model=Knowledge, status_code=201, responses=NAMES_RECORDS)
async def add_article(body: KnowledgeRequest, _: Staff, deps: Deps) -> Knowledge:
    return await knowledge.add_knowledge(KnowledgeKind.ARTICLE, body, deps)


@router.get("/kb/articles", response_model=Page[Knowledge])
async def list_articles(_: Staff, deps: Deps, paging: Paging) -> Page[Knowledge]:
    """Solution articles, newest first."""
    after = paging.after(NEWEST_ID)
    return page(await knowledge.list_knowledge(KnowledgeKind.ARTICLE, deps, paging.limit, after))


@router.get("/known-errors/{item_id}", response_model=Knowledge)
@router.get("/kb/articles/{item_id}", response_model=Knowledge)
async def get_knowledge(item_id: str, _: Staff, deps: Deps) -> Knowledge:
    return await knowledge.get_knowledge(item_id, deps)


@router.patch("/known-errors/{item_id}", response_model=Knowledge)
@router.patch("/kb/articles/{item_id}", response_model=Knowledge)
async def edit_knowledge(item_id: str, body: KnowledgeEdit, _: Staff, deps: Deps) -> Knowledge:
    return await knowledge.edit_knowledge(item_id, body, deps)


@router.post("/known-errors/{item_id}/failed-attempts", response_model=Knowledge)
async def failed_attempt(item_id: str, body: AttemptRequest, user: Staff, deps: Deps) -> Knowledge:
    """A solution tried against this known error that did not help (seed 001)."""
    return await knowledge.record_attempt(item_id, body, user, deps)


class SearchHit(BaseModel):
    id: str
    kind: KnowledgeKind
    title: str
    symptoms: str
    workaround: str
    fix: str
    score: float = Field(description="Relevance relative to the best hit, 0..1")
    failed_attempts: int


SEARCH_DEPTH = 200
"""How far down the ranking search pages go: a search cursor is a place in it below this."""
RANKED = Order((("rank", 1, int),))


@router.get("/kb/search", response_model=Page[SearchHit])
async def search(
    _: Staff,
    deps: Deps,
    q: Annotated[str, Query(min_length=1, max_length=2_000)],
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Page[SearchHit]:
    """Known errors and articles ranked by relevance to the words given, best first; pages
    go down to the 200th hit, each ranked anew (an edit in between may move a hit)."""
    start = _rank(RANKED.decode(cursor))
    end = min(start + limit, SEARCH_DEPTH)
    ranked = await knowledge.search(q, end + 1, deps)
    more = (end,) if len(ranked) > end and end < SEARCH_DEPTH else None
    hits = [
        SearchHit(
            id=h.item.id,
            kind=h.item.kind,
            title=h.item.title,
            symptoms=h.item.symptoms,
            workaround=h.item.workaround,
            fix=h.item.fix,
            score=h.score,
            failed_attempts=len(h.item.failed_attempts),
        )
        for h in ranked[start:end]
    ]
    return page(Slice(hits, more))


def _rank(position: tuple[object, ...] | None) -> int:
    """Where in the ranking a search cursor starts; 400 for one past the depth searched."""
    start = position[0] if position else 0
    if not isinstance(start, int) or start >= SEARCH_DEPTH:
        raise DomainError(f"a search cursor is a place in the first {SEARCH_DEPTH} hits")
    return start


class SuggestionsView(BaseModel):
    ticket_id: str
    suggestions: list[Suggestion]


@router.get("/suggestions/{ticket_id}", response_model=SuggestionsView)
async def suggestions(ticket_id: str, _: Staff, deps: Deps) -> SuggestionsView:
    """What was suggested for a new ticket: known errors and similar resolved tickets."""
    found = await deps.incidents.suggested(ticket_id)
    if found is None:
        raise NotFound(f"no suggestions for ticket {ticket_id} (yet)")
    return SuggestionsView(ticket_id=found.ticket_id, suggestions=found.suggestions)


# Deficiency reports


@router.post(
    "/deficiency-reports",
    response_model=DeficiencyReport,
    status_code=201,
    responses=NAMES_RECORDS,
)
async def elevate(body: ReportRequest, user: Staff, deps: Deps) -> DeficiencyReport:
    """Elevate a ticket or problem to a deficiency report; it is posted to the tracker."""
    return await reports.elevate(body, user, deps)


@router.get("/deficiency-reports", response_model=Page[DeficiencyReport])
async def list_reports(_: Staff, deps: Deps, paging: Paging) -> Page[DeficiencyReport]:
    """Deficiency reports, newest first."""
    return page(await reports.list_reports(deps, paging.limit, paging.after(NEWEST_ID)))


@router.get("/deficiency-reports/{report_id}", response_model=DeficiencyReport)
async def get_report(report_id: str, _: Staff, deps: Deps) -> DeficiencyReport:
    return await reports.get_report(report_id, deps)


@router.patch("/deficiency-reports/{report_id}", response_model=DeficiencyReport)
async def update_report(
    report_id: str, body: ReportUpdate, user: Staff, deps: Deps
) -> DeficiencyReport:
    """A status or tracker update by an agent (or the tracker's service account)."""
    by_tracker = Role.SERVICE in user.roles
    return await reports.update(
        report_id, body, who(user), deps, to_tracker=not by_tracker, repair=True
    )


@router.post(
    "/deficiency-reports/tracker-updates",
    response_model=DeficiencyReport,
    responses=TRACKER_RESPONSES,
)
async def tracker_update(
    request: Request,
    deps: Deps,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> DeficiencyReport:
    """The tracker's webhook: a status update signed with the shared secret (refused when
    none is configured)."""
    body = await request.body()
    try:
        return await reports.from_tracker(body, signature, deps.clock.now(), deps)
    except NotConfigured as exc:
        raise Unconfigured(
            "the tracker webhook is not configured: with HELPDESK_TRACKER_WEBHOOK_SECRET "
            "empty, tracker updates are refused"
        ) from exc
    except BadSignature as exc:
        raise Unsigned(str(exc)) from exc


# Releases


@router.post("/releases", response_model=Release, status_code=201, responses=NAMES_RECORDS)
async def add_release(body: ReleaseRequest, _: Lead, deps: Deps) -> Release:
    return await releases.add_release(body, deps)


@router.get("/releases", response_model=Page[Release])
async def list_releases(
    _: Staff,
    deps: Deps,
    paging: Paging,
    supported: bool | None = None,
) -> Page[Release]:
    """Releases, newest first; `supported=true` lists the versions supported (seed 000 5e)."""
    after = paging.after(LATEST_RELEASED)
    return page(await releases.list_releases(deps, supported, paging.limit, after))


@router.get("/releases/{version}", response_model=Release)
async def get_release(version: str, _: Staff, deps: Deps) -> Release:
    return await releases.get_release(version, deps)


@router.patch("/releases/{version}", response_model=Release)
async def edit_release(version: str, body: ReleaseEdit, _: Lead, deps: Deps) -> Release:
    return await releases.edit_release(version, body, deps)


@router.post("/releases/{version}/publish", response_model=Release)
async def publish_release(version: str, user: Lead, deps: Deps) -> Release:
    """Announce the release to the tickets and customers waiting for its fixes."""
    return await releases.publish_release(version, user, deps)


# Changes


@router.post("/changes", response_model=Change, status_code=201, responses=NAMES_RECORDS)
async def request_change(body: ChangeRequest, user: Staff, deps: Deps) -> Change:
    return await changes.request_change(body, user, deps)


@router.get("/changes", response_model=Page[Change])
async def list_changes(
    _: Staff,
    deps: Deps,
    paging: Paging,
    status: ChangeStatus | None = None,
) -> Page[Change]:
    """Change requests, newest first, optionally those with one status."""
    return page(await changes.list_changes(deps, status, paging.limit, paging.after(NEWEST_ID)))


@router.get("/changes/{change_id}", response_model=Change)
async def get_change(change_id: str, _: Staff, deps: Deps) -> Change:
    return await changes.get_change(change_id, deps)


@router.post("/changes/{change_id}/decisions", response_model=Change)
async def decide_change(change_id: str, body: DecisionRequest, user: Staff, deps: Deps) -> Change:
    """An approver's yes or no."""
    return await changes.decide_change(change_id, body, user, deps)


@router.post("/changes/{change_id}/outcome", response_model=Change)
async def finish_change(change_id: str, body: OutcomeRequest, user: Staff, deps: Deps) -> Change:
    """Completed or rolled back; a completed change resolves its problem."""
    return await changes.finish_change(change_id, body, user, deps)


# Advisories


@router.post("/advisories", response_model=Advisory, status_code=201)
async def schedule_advisory(body: AdvisoryRequest, user: Lead, deps: Deps) -> Advisory:
    """An advisory, heads-up or maintenance notice, published at `publish_at` (or now)."""
    return await advisories.schedule_advisory(body, user, deps)


@router.get("/advisories", response_model=Page[Advisory])
async def list_advisories(_: Staff, deps: Deps, paging: Paging) -> Page[Advisory]:
    """Advisories, the latest to be published first."""
    after = paging.after(LATEST_PUBLISHED)
    return page(await advisories.list_advisories(deps, paging.limit, after))


@router.get("/advisories/{advisory_id}", response_model=Advisory)
async def get_advisory(advisory_id: str, _: Staff, deps: Deps) -> Advisory:
    return await advisories.get_advisory(advisory_id, deps)


@router.post("/advisories/{advisory_id}/withdraw", response_model=Advisory)
async def withdraw_advisory(advisory_id: str, _: Lead, deps: Deps) -> Advisory:
    return await advisories.withdraw_advisory(advisory_id, deps)
