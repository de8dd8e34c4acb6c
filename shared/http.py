"""HTTP plumbing shared by the five services: problem+json, health, readiness, metrics, limits."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .errors import DomainError, FieldInvalid, InvalidTransition

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    return problem(422, "Validation failed", "the request has invalid fields", errors=errors)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed(request, (headers or {}).get("Allow", ""))}
    return problem(exc.status_code, _title(exc.status_code), str(exc.detail), headers=headers)


def _allowed(request: Request, starlette: str) -> str:
    """The methods the OpenAPI document gives the resource at this path (RFC 9110's Allow), the
    most specific template first: Starlette names only those of the first route it matched, so
    OPTIONS /v1/tickets said "POST" and hid GET. Paths the document leaves out keep its answer."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    matching = [
        (template.count("{"), template)
        for template in paths
        if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), request.url.path)
    ]
    if not matching:
        return starlette
    item = paths[min(matching)[1]]
    found = [method for method in METHODS if method.lower() in item]
    return ", ".join(found + (["HEAD"] if "GET" in found else []))


async def _domain(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidTransition):
        extra["allowed"] = exc.allowed
    if isinstance(exc, FieldInvalid):
        extra["errors"] = [{"field": exc.field, "message": exc.message, "type": "value_error"}]
    return problem(exc.status, exc.title, exc.detail, **extra)


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "the server failed; the error is logged")


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Payload too large",
        415: "Unsupported media type",
    }.get(status, "Error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimit:
    """Refuses bodies larger than the limit with 413 before the route reads them; paths
    matching a pattern of `per_path` (raw e-mail, files) have a limit of their own."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = [(re.compile(p), limit) for p, limit in (per_path or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for p, n in self.per_path if p.fullmatch(path)), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if declared is None and scope.get("method") not in ("GET", "HEAD"):
            # A chunked body declares no length: it is read here, up to the limit, before the
            # route runs (an error raised from inside a route's read of the body reaches the
            # error handlers wrapped in a middleware's task group, as a 500).
            buffered: list[Message] = []
            seen = 0
            while True:
                message = await receive()
                buffered.append(message)
                seen += len(message.get("body", b""))
                if seen > limit:
                    await _too_large(limit)(scope, receive, send)
                    return
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            replay = iter(buffered)

            async def replayed() -> Message:
                return next(replay, None) or await receive()

            await self.app(scope, replayed, send)
            return
        await self.app(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return problem(413, "Payload too large", f"body larger than {limit} bytes")


def install_request_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # answered here, so the server keeps the connection open
            response = await _unexpected(request, exc)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.HTTP_LATENCY.labels(
            service, request.method, path, str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


def health_router(ready: Callable[[], Awaitable[dict[str, bool]]]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Kafka and MongoDB are reachable", response_model=None)
    async def readyz() -> Response:
        checks = await ready()
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
