"""Ticket lists on the real store, read by `_id` only: newest first across the chunks of an
organisation's numbers, page by page, and by status from the live set of tickets not closed."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.intake.app import IntakeSettings, create_app
from services.intake.store import MongoIntakeStore
from services.intake.store import tickets as ticket_store
from tests.helpers import Isolation, auth, in_process

pytestmark = pytest.mark.integration


@pytest.fixture
async def intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(ticket_store, "CHUNK", 3)  # many chunks from a few tickets
    monkeypatch.setattr(ticket_store, "NUMBERS_PER_READ", 2)  # and several reads of them
    monkeypatch.setattr(ticket_store, "CHUNKS_PER_READ", 2)
    monkeypatch.setattr(ticket_store, "IDS_PER_READ", 2)
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(IntakeSettings())) as client:
        yield client


async def numbers(intake: httpx.AsyncClient, query: str, limit: int) -> list[list[str]]:
    """Every page of a listing, as ticket numbers."""
    pages: list[list[str]] = []
    cursor = ""
    while True:
        got = await intake.get(f"/v1/tickets?limit={limit}{query}{cursor}", headers=auth())
        assert got.status_code == 200, got.text
        body = got.json()
        pages.append([t["number"] for t in body["items"]])
        if not body["next_cursor"]:
            return pages
        cursor = f"&cursor={body['next_cursor']}"


async def test_lists_are_newest_first_by_organisation_and_page_on(
    intake: httpx.AsyncClient, isolated: Isolation
) -> None:
    orgs = ["acme", "globex", "acme", "acme", "globex", "acme", "acme", "globex", "acme"]
    for org in orgs:
        ticket = {"subject": "VPN drops", "requester": {"email": "a@b.example"}}
        created = await intake.post(
            "/v1/tickets", json={**ticket, "organization_id": org}, headers=auth()
        )
        assert created.status_code == 201, created.text
    acme = [f"HD-{n:06d}" for n in (9, 7, 6, 4, 3, 1)]
    assert await numbers(intake, "&organization_id=acme", 4) == [acme[:4], acme[4:]]
    assert await numbers(intake, "&organization_id=globex", 5) == [
        ["HD-000008", "HD-000005", "HD-000002"]
    ]
    everyone = [f"HD-{n:06d}" for n in range(9, 0, -1)]
    assert await numbers(intake, "", 3) == [everyone[:3], everyone[3:6], everyone[6:], []]
    assert await numbers(intake, "&organization_id=initech", 5) == [[]]

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    try:
        store = MongoIntakeStore(client[f"{isolated.db_prefix}intake"])
        at = datetime(2026, 12, 7, tzinfo=UTC)
        for number, status in ((9, "assigned"), (7, "closed"), (6, "assigned"), (3, "closed")):
            ticket = await store.get_ticket_by_seq(number)
            assert ticket is not None
            await store.record_status(ticket.id, status, at)
        ticket = await store.get_ticket_by_seq(6)
        assert ticket is not None
        await store.record_status(ticket.id, "closed", at)  # leaves the live set
    finally:
        await client.close()
    assert await numbers(intake, "&organization_id=acme&status=assigned", 5) == [["HD-000009"]]
    assert await numbers(intake, "&organization_id=acme&status=closed", 2) == [
        ["HD-000007", "HD-000006"],
        ["HD-000003"],
    ]
    assert await numbers(intake, "&status=assigned", 5) == [["HD-000009"]]


@pytest.mark.parametrize(
    "cursor",
    [
        base64.urlsafe_b64encode(str(2**63).encode()).decode(),
        base64.urlsafe_b64encode(b"-5").decode(),
        base64.urlsafe_b64encode("٣".encode()).decode(),
        base64.urlsafe_b64encode(b"abc").decode(),
        "!!not-base64!!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_a_cursor_this_api_never_gave_out_is_a_400(
    intake: httpx.AsyncClient, cursor: str
) -> None:
    got = await intake.get("/v1/tickets", params={"cursor": cursor}, headers=auth())
    assert got.status_code == 400, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["detail"] == "cursor is not one this API gave out"
