"""The console's pages: server-rendered, each form a plain POST (htmx only refreshes regions
live), every POST checked against the session's CSRF token. No Mongo, no rules: use cases and
the services' APIs through the backends."""

from __future__ import annotations

import asyncio
import html
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates

from shared.runtime import app_deps

from . import service
from .backends import BackendError
from .domain import Account, LiveEvent, Session, Viewer, due_mark, remaining
from .service import ConsoleDeps

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters["remaining"] = remaining
SESSION_COOKIE = "sb_session"
LOGIN_COOKIE = "sb_login"  # the sign-in form's own CSRF token (double submit: no session yet)
KEEPALIVE_SECONDS = 15.0
PAGE = 25

router = APIRouter(include_in_schema=False)
Deps = Annotated[ConsoleDeps, Depends(app_deps)]


class NotSignedIn(Exception):
    """No live session: pages redirect to the sign-in form, fragments and streams answer 401."""


class Refused(Exception):
    """A request the console turns down with a page of its own (CSRF, wrong persona)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


class Who:
    def __init__(self, session: Session, account: Account, deps: ConsoleDeps) -> None:
        self.session = session
        self.account = account
        self.token = service.token_for(account, deps)

    @property
    def staff(self) -> bool:
        return self.account.is_staff


async def _who(request: Request, deps: Deps) -> Who:
    found = await service.current(request.cookies.get(SESSION_COOKIE), deps)
    if found is None:
        raise NotSignedIn()
    return Who(*found, deps)


async def _staff(who: Annotated[Who, Depends(_who)]) -> Who:
    if not who.staff:
        raise Refused(403, "For staff only", "this page is the agents' workspace")
    return who


async def _customer(who: Annotated[Who, Depends(_who)]) -> Who:
    if who.staff:
        raise Refused(403, "For customers only", "this page is the customer portal")
    return who


Anyone = Annotated[Who, Depends(_who)]
Staff = Annotated[Who, Depends(_staff)]
Customer = Annotated[Who, Depends(_customer)]


async def _form(request: Request, who: Who) -> dict[str, str]:
    """The posted form, once its CSRF token matched the session's; 403 otherwise."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not service.csrf_ok(who.session, fields.get("csrf")):
        raise Refused(403, "Form refused", "the form's security token is missing or stale")
    return fields


def page(
    request: Request, name: str, status: int = 200, who: Who | None = None, **context: Any
) -> HTMLResponse:
    context |= {"who": who, "csrf": who.session.csrf if who else ""}
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# signing in and out


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, deps: Deps) -> Response:
    found = await service.current(request.cookies.get(SESSION_COOKIE), deps)
    if found is None:
        return _back("/sign-in")
    return _back("/worklist" if found[1].is_staff else "/portal")


def _sign_in_form(
    request: Request, status: int = 200, error: str = "", username: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(
        request, "sign_in.html", status, login_csrf=token, error=error, username=username
    )
    secure = request.app.state.cookie_secure
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="lax", secure=secure
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> Response:
    return _sign_in_form(request)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, deps: Deps) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    username, password = fields.get("username", "")[:200], fields.get("password", "")[:1000]
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, fields.get("csrf", "")):
        return _sign_in_form(request, 403, "The form had expired: please sign in again.", username)
    address = request.client.host if request.client else "unknown"
    try:
        session_id, session = await service.sign_in(username, password, address, deps)
    except service.TooManyAttempts as exc:
        response = page(
            request,
            "message.html",
            429,
            title="Too many failed sign-ins",
            detail=f"{exc.detail}. The limit guards every account against guessing.",
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except service.SignInRefused:
        return _sign_in_form(request, 401, "The username or the password is wrong.", username)
    signed_in = _back("/")
    signed_in.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int((session.expires_at - session.created_at).total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.app.state.cookie_secure,
        path="/",
    )
    signed_in.delete_cookie(LOGIN_COOKIE)
    return signed_in


@router.post("/sign-out")
async def sign_out(request: Request, who: Anyone, deps: Deps) -> Response:
    await _form(request, who)
    await service.sign_out(who.session, deps)
    response = _back("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# the agents' workspace


async def _worklist(who: Who, deps: ConsoleDeps, queue: str, cursor: str | None) -> Any:
    if queue == "mine":
        assert who.account.agent_id is not None
        return await deps.backends.my_work(who.token, who.account.agent_id, cursor, PAGE)
    return await deps.backends.queue_work(who.token, queue, cursor, PAGE)


def _rows(items: list[dict[str, Any]], deps: ConsoleDeps) -> list[dict[str, Any]]:
    now = deps.clock.now()
    rows = []
    for item in items:
        due = datetime.fromisoformat(item["sla_due_at"]) if item.get("sla_due_at") else None
        rows.append(
            item
            | {
                "mark": due_mark(due, now),
                "left": remaining(int((due - now).total_seconds())) if due else "",
            }
        )
    return rows


@router.get("/worklist", response_class=HTMLResponse)
async def worklist(
    request: Request, who: Staff, deps: Deps, queue: str = "mine", cursor: str | None = None
) -> Response:
    queues, found = await asyncio.gather(
        deps.backends.queues(who.token), _worklist(who, deps, queue[:100], cursor)
    )
    return page(
        request,
        "worklist.html",
        who=who,
        queue=queue,
        queues=queues["items"],
        rows=_rows(found["items"], deps),
        next_cursor=found.get("next_cursor"),
        cursor=cursor or "",
    )


@router.get("/worklist/rows", response_class=HTMLResponse)
async def worklist_rows(
    request: Request, who: Staff, deps: Deps, queue: str = "mine", cursor: str | None = None
) -> Response:
    found = await _worklist(who, deps, queue[:100], cursor)
    return page(request, "worklist_rows.html", who=who, rows=_rows(found["items"], deps))


async def _optional(call: Any) -> Any:
    """A section of a page that may not exist yet (not triaged, no clock): None on 404."""
    try:
        return await call
    except BackendError as exc:
        if exc.status == 404:
            return None
        raise


async def _ticket_view(who: Who, deps: ConsoleDeps, ref: str) -> dict[str, Any]:
    ticket = await deps.backends.ticket(who.token, ref)
    if not who.staff:
        return {"ticket": ticket, "item": None, "clock": None}
    item, clock = await asyncio.gather(
        _optional(deps.backends.work_item(who.token, ticket["id"])),
        _optional(deps.backends.clock(who.token, ticket["id"])),
    )
    return {"ticket": ticket, "item": item, "clock": clock}


async def _ticket_page(
    request: Request, who: Who, deps: ConsoleDeps, ref: str, name: str
) -> Response:
    view = await _ticket_view(who, deps, ref[:100])
    return page(request, name, who=who, notice=request.query_params.get("done"), **view)


@router.get("/tickets/{ref}", response_class=HTMLResponse)
async def ticket_page(request: Request, ref: str, who: Staff, deps: Deps) -> Response:
    return await _ticket_page(request, who, deps, ref, "ticket.html")


@router.get("/tickets/{ref}/live", response_class=HTMLResponse)
async def ticket_live(request: Request, ref: str, who: Staff, deps: Deps) -> Response:
    return await _ticket_page(request, who, deps, ref, "ticket_live.html")


@router.post("/tickets/{ref}/messages")
async def post_message(request: Request, ref: str, who: Staff, deps: Deps) -> Response:
    fields = await _form(request, who)
    visibility = "internal" if fields.get("visibility") == "internal" else "public"
    body = fields.get("body", "").strip()
    if not body:
        raise Refused(422, "Nothing to send", "write the reply or the note first")
    await deps.backends.add_message(who.token, ref, body, visibility)
    done = "note" if visibility == "internal" else "reply"
    return _back(f"/tickets/{quote(ref, safe='')}?done={done}")


@router.post("/tickets/{ref}/claim")
async def claim(request: Request, ref: str, who: Staff, deps: Deps) -> Response:
    await _form(request, who)
    ticket = await deps.backends.ticket(who.token, ref)
    await deps.backends.claim(who.token, ticket["id"])
    return _back(f"/tickets/{quote(ref, safe='')}?done=claimed")


@router.post("/tickets/{ref}/resolve")
async def resolve(request: Request, ref: str, who: Staff, deps: Deps) -> Response:
    fields = await _form(request, who)
    resolution = fields.get("resolution", "").strip()
    if not resolution:
        raise Refused(422, "No resolution", "say how the ticket was resolved")
    ticket = await deps.backends.ticket(who.token, ref)
    await deps.backends.resolve(who.token, ticket["id"], resolution)
    return _back(f"/tickets/{quote(ref, safe='')}?done=resolved")


@router.get("/tickets/{ref}/attachments/{attachment_id}")
async def attachment(ref: str, attachment_id: str, who: Anyone, deps: Deps) -> Response:
    found = await deps.backends.attachment(who.token, ref, attachment_id)
    keep = ("content-type", "content-disposition", "content-length")
    headers = {k: v for k, v in found.headers.items() if k.lower() in keep}
    return Response(found.content, headers=headers | {"Cache-Control": "private, no-store"})


# the customer portal


@router.get("/portal", response_class=HTMLResponse)
async def portal(
    request: Request, who: Customer, deps: Deps, cursor: str | None = None
) -> Response:
    found = await deps.backends.tickets(who.token, cursor, PAGE)
    return page(
        request,
        "portal.html",
        who=who,
        tickets=found["items"],
        next_cursor=found.get("next_cursor"),
    )


@router.get("/portal/tickets/{ref}", response_class=HTMLResponse)
async def portal_ticket(request: Request, ref: str, who: Customer, deps: Deps) -> Response:
    return await _ticket_page(request, who, deps, ref, "portal_ticket.html")


@router.get("/portal/tickets/{ref}/live", response_class=HTMLResponse)
async def portal_ticket_live(request: Request, ref: str, who: Customer, deps: Deps) -> Response:
    return await _ticket_page(request, who, deps, ref, "ticket_live.html")


@router.post("/portal/tickets/{ref}/messages")
async def portal_reply(request: Request, ref: str, who: Customer, deps: Deps) -> Response:
    fields = await _form(request, who)
    body = fields.get("body", "").strip()
    if not body:
        raise Refused(422, "Nothing to send", "write your reply first")
    await deps.backends.add_message(who.token, ref, body, "public")
    return _back(f"/portal/tickets/{quote(ref, safe='')}?done=reply")


@router.post("/portal/tickets/{ref}/confirm")
async def portal_confirm(request: Request, ref: str, who: Customer, deps: Deps) -> Response:
    fields = await _form(request, who)
    rating = fields.get("rating", "5")
    score = int(rating) if rating in {"1", "2", "3", "4", "5"} else 5
    comment = fields.get("comment", "").strip()[:5000]
    await deps.backends.feedback(who.token, ref, score, comment, confirms=True)
    return _back(f"/portal/tickets/{quote(ref, safe='')}?done=confirmed")


# live updates


def _sse(event: LiveEvent) -> str:
    """One Server-Sent Event: named `ticket`, its data a list item the page may show."""
    number, kind = html.escape(event.number or ""), html.escape(event.type)
    ticket = html.escape(event.ticket_id or "")
    item = (
        f'<li data-type="{kind}" data-ticket="{ticket}" data-number="{number}">{kind} {number}</li>'
    )
    return f"event: ticket\nid: {event.id}\ndata: {item}\n\n"


@router.get("/events")
async def events(who: Anyone, deps: Deps) -> StreamingResponse:
    viewer = Viewer(staff=who.staff, organization_id=who.account.organization_id)

    async def stream() -> AsyncIterator[str]:
        async with deps.hub.listen(viewer) as queue:
            yield ": listening\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                yield _sse(event)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
