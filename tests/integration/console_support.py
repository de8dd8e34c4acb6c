"""The console's tests: services served on loopback ports inside the test's event loop (the
console calls them over HTTP as it does in production, and its event stream needs a real
server), accounts, and signing in as a browser does."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from services.console import service
from services.console.domain import Persona
from services.console.service import ConsoleDeps
from tests.helpers import wait_for

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: a service these tests do not run


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real HTTP server on a free loopback port, lifespan included."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the server stopped before it started")
        return bool(server.started)

    try:
        await wait_for(started, interval=0.02, what=f"{app.title} serving on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def deps_of(app: FastAPI) -> ConsoleDeps:
    deps: ConsoleDeps = app.state.deps
    return deps


async def add(app: FastAPI, username: str, persona: Persona, **fields: Any) -> None:
    await service.add_account(
        username=username, password=PASSWORD, persona=persona, deps=deps_of(app), **fields
    )


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


async def sign_in(
    browser: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """The sign-in form fetched and posted, as a browser does (its cookie included)."""
    form = await browser.get("/sign-in")
    assert form.status_code == 200, form.text
    return await browser.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
    )


class SseLines:
    """The lines of one event stream, read once, in order."""

    def __init__(self, stream: httpx.Response) -> None:
        self._lines = stream.aiter_lines()

    async def next(self, within: float = 10.0) -> str:
        return await asyncio.wait_for(anext(self._lines), within)

    async def until(self, want: str, within: float = 30.0) -> tuple[list[str], str]:
        """Data lines up to one holding `want`: those before it, and that line."""
        seen: list[str] = []

        async def read() -> str:
            async for line in self._lines:
                if line.startswith("data:"):
                    if want in line:
                        return line
                    seen.append(line)
            raise AssertionError("the stream ended")

        return seen, await asyncio.wait_for(read(), within)
