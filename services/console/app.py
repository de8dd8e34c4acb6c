"""Console: the web workspace of agents, supervisors and customers; run with
`uvicorn services.console.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from pydantic import Field

from shared.clock import Clock
from shared.periodic import every
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from shared.topics import SERVICES, topic_of

from .api import NotSignedIn, Refused, page, router
from .backends import BackendError, Backends, BackendUrls
from .domain import LoginLimit
from .handlers import LiveFeed
from .service import ConsoleDeps, sweep
from .store import INDEXES, MongoConsoleStore

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    http_port: int = Field(default=8000, validation_alias="HTTP_PORT")
    intake_url: str = Field(default="http://127.0.0.1:8001", validation_alias="HELPDESK_INTAKE_URL")
    triage_url: str = Field(default="http://127.0.0.1:8002", validation_alias="HELPDESK_TRIAGE_URL")
    sla_url: str = Field(default="http://127.0.0.1:8003", validation_alias="HELPDESK_SLA_URL")
    problems_url: str = Field(
        default="http://127.0.0.1:8004", validation_alias="HELPDESK_PROBLEMS_URL"
    )
    reporting_url: str = Field(
        default="http://127.0.0.1:8005", validation_alias="HELPDESK_REPORTING_URL"
    )
    cookie_secure: bool = Field(
        default=False,
        validation_alias="HELPDESK_CONSOLE_COOKIE_SECURE",
        description="Mark cookies Secure (sent over HTTPS only): set it wherever TLS fronts us",
    )
    session_hours: float = Field(
        default=8.0, gt=0, validation_alias="HELPDESK_CONSOLE_SESSION_HOURS"
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias="HELPDESK_CONSOLE_LOGIN_ATTEMPTS",
        description="Failed sign-ins per username and per client address within the window",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, validation_alias="HELPDESK_CONSOLE_LOGIN_WINDOW_MINUTES"
    )
    sweep_seconds: float = Field(
        default=300.0, gt=0, validation_alias="HELPDESK_CONSOLE_SWEEP_SECONDS"
    )
    backend_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias="HELPDESK_CONSOLE_BACKEND_TIMEOUT_SECONDS"
    )


async def build(runtime: Runtime) -> ConsoleDeps:
    settings = runtime.settings
    assert isinstance(settings, ConsoleSettings), "the console runs with ConsoleSettings"
    if not settings.jwt_secret:
        raise RuntimeError("the console mints the services' tokens: set HELPDESK_JWT_SECRET")
    client = httpx.AsyncClient(timeout=settings.backend_timeout_seconds)
    urls = BackendUrls(
        settings.intake_url.rstrip("/"),
        settings.triage_url.rstrip("/"),
        settings.sla_url.rstrip("/"),
        settings.problems_url.rstrip("/"),
        settings.reporting_url.rstrip("/"),
    )
    deps = ConsoleDeps(
        store=MongoConsoleStore(runtime.db),
        backends=Backends(urls, client),
        clock=runtime.clock,
        jwt_secret=settings.jwt_secret,
        limit=LoginLimit(settings.login_attempts, timedelta(minutes=settings.login_window_minutes)),
        session_hours=settings.session_hours,
    )
    topics = [topic_of(s, settings.topic_prefix) for s in SERVICES]
    feed = LiveFeed(settings.kafka_bootstrap_servers, topics, deps)
    await feed.start()
    deps.loops = [
        feed.run,
        partial(every, settings.sweep_seconds, partial(sweep, deps), "the session sweep"),
        partial(_hold, client),
    ]
    return deps


async def _hold(client: httpx.AsyncClient) -> None:
    """Keeps the services' HTTP client open while the console runs, and closes it after."""
    try:
        await asyncio.Event().wait()
    finally:
        await client.aclose()


def loops(deps: ConsoleDeps) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return deps.loops


SPEC = ServiceSpec(
    title="Switchboard console",
    description="The web workspace: agents' worklists and tickets, the customer portal, live.",
    routers=[router],
    build=build,
    consumes=list(SERVICES),  # the topics exist before the live feed assigns their partitions
    tasks=loops,
    indexes=INDEXES,
)


def _html_errors(app: FastAPI) -> None:
    async def not_signed_in(request: Request, _: Exception) -> Response:
        if request.method == "GET" and request.url.path not in ("/events",):
            if not request.headers.get("HX-Request"):
                return Response(status_code=303, headers={"Location": "/sign-in"})
        return page(request, "message.html", 401, title="Signed out", detail="Please sign in.")

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return page(request, "message.html", exc.status, title=exc.title, detail=exc.detail)

    async def backend(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BackendError)
        if exc.status in (403, 404):  # another organisation's ticket is "not found" to you
            return page(request, "message.html", 404, title="Not found", detail=exc.detail)
        if exc.status in (409, 422, 400):
            return page(request, "message.html", 409, title="Not done", detail=exc.detail)
        log.warning("backend failure: %s", exc)
        return page(request, "message.html", 502, title="Service unavailable", detail=exc.detail)

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        NotSignedIn: not_signed_in,
        Refused: refused,
        BackendError: backend,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


def create_app(settings: ConsoleSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    app = create_service_app(settings, SPEC, clock)
    app.state.cookie_secure = settings.cookie_secure
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _html_errors(app)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
