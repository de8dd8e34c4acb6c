"""The HTTP plumbing every service shares, at its edges: a chunked body over the limit is a 413 like
a declared one, the connection stays usable after an error response (a 500 included), and a
refused token or role is explained in plain words, without the libraries' internals."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

from shared.auth import Authenticator, CurrentUser, Role, issue_token, require
from shared.http import BodyLimit, install_error_handlers, install_request_metrics
from shared.settings import ServiceSettings

SECRET = "a-local-secret-long-enough-for-the-edges-0123456789"
LIMIT = 100


class Body(BaseModel):
    name: str


def app() -> FastAPI:
    made = FastAPI()
    made.state.auth = Authenticator(ServiceSettings(HELPDESK_JWT_SECRET=SECRET))
    install_error_handlers(made)
    install_request_metrics(made, "edges")
    made.add_middleware(BodyLimit, max_bytes=LIMIT)

    @made.post("/json")
    async def json_body(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @made.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @made.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"sub": user.sub}

    @made.get("/admin")
    async def admin_only(user: CurrentUser) -> dict[str, str]:
        await require(Role.ADMIN)(user)
        return {"ok": "yes"}

    @made.get("/staff")
    async def staff_only(user: CurrentUser) -> dict[str, str]:
        await require(Role.AGENT, Role.SUPERVISOR)(user)
        return {"ok": "yes"}

    @made.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug")

    return made


async def chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 10):
        yield b'{"a":1}   '


@pytest.mark.parametrize("path", ["/json", "/raw"])
async def test_a_chunked_body_over_the_limit_is_a_413_like_a_declared_one(path: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://edges") as client:
        chunked = await client.post(path, content=chunks(LIMIT + 50))
        declared = await client.post(path, content=b"x" * (LIMIT + 50))
        small = await client.post("/raw", content=chunks(LIMIT - 10))
    for response in (chunked, declared):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == f"body larger than {LIMIT} bytes"
    assert small.status_code == 200 and small.json() == {"bytes": LIMIT - 10}


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One request and its response on an open connection (responses here carry a length)."""
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ln)}
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


async def test_the_connection_stays_usable_after_every_kind_of_error_response() -> None:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app(), log_level="error"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    host = b"Host: edges\r\n"
    requests = [
        b"GET /boom HTTP/1.1\r\n" + host + b"\r\n",
        b"GET /me HTTP/1.1\r\n" + host + b"\r\n",
        b"POST /json HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
        b"Content-Length: 5\r\n\r\n{nope",
        b"POST /raw HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n"
        b"c8\r\n" + b"x" * 200 + b"\r\n0\r\n\r\n",
        b"POST /missing HTTP/1.1\r\n" + host + b"Content-Length: 5\r\n\r\nhello",
        b"POST /raw HTTP/1.1\r\n" + host + b"Content-Length: 10\r\n\r\nstill here",
    ]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = [await exchange(reader, writer, request) for request in requests]
        writer.close()
    finally:
        server.should_exit = True
        await serving
    assert [status for status, _, _ in answers] == [500, 401, 422, 413, 404, 200]
    assert all("close" not in headers.get("connection", "") for _, headers, _ in answers)
    assert answers[-1][2] == b'{"bytes":10}'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("not-a-jwt", "invalid token: the token is malformed"),
        (issue_token("another-secret-0123456789-0123456789", sub="x", roles=[]), "not signed"),
        (issue_token(SECRET, sub="x", roles=["agent"], ttl_seconds=-60), "has expired"),
        (jwt.encode({"sub": "x"}, SECRET), "lacks the claim exp"),
        (jwt.encode({"sub": "x", "exp": 4102444800, "roles": "admin"}, SECRET), "claims roles"),
        (issue_token(SECRET, sub="x", roles=["customer"]), "must name the customer's organ"),
    ],
)
async def test_a_refused_token_is_explained_in_plain_words(token: str, said: str) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://edges") as client:
        refused = await client.get("/me", headers=bearer(token))
    assert refused.status_code == 401 and said in refused.json()["detail"]
    for internal in ("Signature", "validation error", "pydantic", "Traceback", "Input should"):
        assert internal not in refused.json()["detail"]


async def test_a_missing_role_is_named_as_a_plain_role_name() -> None:
    customer = issue_token(SECRET, sub="c", roles=["customer"], org="acme")
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://edges") as client:
        one = await client.get("/admin", headers=bearer(customer))
        two = await client.get("/staff", headers=bearer(customer))
    assert one.status_code == 403 and one.json()["detail"] == "this needs the role admin"
    assert two.json()["detail"] == "this needs one of the roles agent, supervisor"
