"""Intake's HTTP API on FerretDB and Kafka: numbers, visibility, and clear errors for bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.intake.app import IntakeSettings, create_app
from shared.devstack import Stack
from tests.helpers import Isolation, auth, in_process, token

pytestmark = pytest.mark.integration

TICKET = {
    "subject": "VPN drops every hour",
    "requester": {"email": "ann@acme.example"},
    "organization_id": "acme",
}


@pytest.fixture
async def intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env(
        HELPDESK_MAX_BODY_BYTES="20000", HELPDESK_MAX_MAIL_BYTES="1024"
    ).items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        yield client


async def test_a_new_ticket_gets_the_next_number_and_can_be_read_by_it(
    intake: httpx.AsyncClient,
) -> None:
    first = await intake.post("/v1/tickets", json=TICKET, headers=auth())
    second = await intake.post("/v1/tickets", json=TICKET, headers=auth())
    assert first.status_code == 201, first.text
    assert (first.json()["number"], second.json()["number"]) == ("HD-000001", "HD-000002")
    by_number = await intake.get("/v1/tickets/HD-000002", headers=auth())
    assert by_number.json()["id"] == second.json()["id"]
    assert by_number.json()["messages"][0]["author"]["email"] == "ann@acme.example"


async def test_customers_see_only_their_own_organisations_tickets(
    intake: httpx.AsyncClient,
) -> None:
    mine = await intake.post(
        "/v1/tickets",
        json={"subject": "Printer jam"},
        headers=auth(["customer"], org="acme", sub="ann"),
    )
    assert mine.status_code == 201, mine.text
    number = mine.json()["number"]
    assert (
        await intake.get(f"/v1/tickets/{number}", headers=auth(["customer"], "acme"))
    ).status_code == 200
    other = await intake.get(f"/v1/tickets/{number}", headers=auth(["customer"], "globex"))
    assert other.status_code == 404
    listing = await intake.get("/v1/tickets", headers=auth(["customer"], "globex"))
    assert listing.json()["items"] == []
    foreign = await intake.post(
        "/v1/tickets",
        json={**TICKET, "organization_id": "globex"},
        headers=auth(["customer"], org="acme"),
    )
    assert foreign.status_code == 403


@pytest.mark.parametrize(
    ("headers", "body", "status", "field"),
    [
        ({}, TICKET, 401, None),
        ({"Authorization": "Bearer not-a-jwt"}, TICKET, 401, None),
        (None, {**TICKET, "subject": ""}, 422, "body.subject"),
        (None, {**TICKET, "requester": {"email": "not-an-address"}}, 422, "body.requester.email"),
        (None, {**TICKET, "channel": "pigeon"}, 422, "body.channel"),
        (None, {**TICKET, "surprise": 1}, 422, "body.surprise"),
        (None, {"subject": "no requester"}, 400, None),
        (None, {**TICKET, "description": "x" * 30_000}, 413, None),
    ],
)
async def test_bad_requests_get_a_problem_json_naming_what_is_wrong(
    intake: httpx.AsyncClient,
    headers: dict[str, str] | None,
    body: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    response = await intake.post(
        "/v1/tickets", json=body, headers=auth() if headers is None else headers
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"]
    if field is not None:
        assert field in [e["field"] for e in problem["errors"]]


async def test_an_unknown_ticket_is_a_404_problem(intake: httpx.AsyncClient) -> None:
    response = await intake.get("/v1/tickets/HD-999999", headers=auth())
    assert response.status_code == 404
    assert response.json()["detail"] == "no ticket HD-999999"


async def test_numbers_stay_unique_under_50_concurrent_requests_to_two_intake_processes(
    isolated: Isolation,
    tmp_path: Path,
) -> None:
    stack = Stack(
        isolated.env(),
        ports={"intake": 18101, "intake#2": 18102},
        services=["intake", "intake#2"],
        log_dir=tmp_path,
    )
    stack.start_all()
    try:
        await asyncio.to_thread(stack.wait_ready, 60)
        headers = {"Authorization": f"Bearer {token()}"}
        async with httpx.AsyncClient(timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"{stack.url('intake' if i % 2 else 'intake#2')}/v1/tickets",
                        json=TICKET,
                        headers=headers,
                    )
                    for i in range(50)
                )
            )
    finally:
        stack.stop_all()
    assert [r.status_code for r in responses] == [201] * 50
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"HD-{n:06d}" for n in range(1, 51)]
