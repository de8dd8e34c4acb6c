"""The tracker's webhook on the real Kafka and FerretDB: without a secret configured every
update is refused (an HMAC with the empty key is one anybody can make), and a correctly
signed body that is not an update is a 422 naming what is wrong, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.problems.app import ProblemsSettings
from services.problems.app import create_app as problems_app
from services.problems.webhooks import SIGNATURE_HEADER, signature_header
from shared.clock import FixedClock
from tests.helpers import Isolation, in_process
from tests.integration.test_problems_flows import AGENT, START, ok

pytestmark = pytest.mark.integration
UPDATES = "/v1/deficiency-reports/tracker-updates"
STAMP = int(START.timestamp())
SECRET = "tracker-secret-for-these-tests"


@asynccontextmanager
async def problems_with(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.delenv("HELPDESK_TRACKER_WEBHOOK_SECRET", raising=False)
    env = isolated.env(HELPDESK_KNOWLEDGE_TTL_SECONDS="0")
    if secret is not None:
        env["HELPDESK_TRACKER_WEBHOOK_SECRET"] = secret
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(problems_app(ProblemsSettings(), FixedClock(START))) as problems:
        yield problems


async def a_report(problems: httpx.AsyncClient) -> dict[str, Any]:
    problem = ok(await problems.post("/v1/problems", json={"title": "Crash"}, headers=AGENT), 201)
    report = {
        "title": "Excel export crashes",
        "severity": "high",
        "affected_release": "7.3",
        "reproduction": "Export to Excel",
        "problem_id": problem["id"],
    }
    return ok(await problems.post("/v1/deficiency-reports", json=report, headers=AGENT), 201)


def signed(secret: str, body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature_header(secret, STAMP, body)}


@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_without_a_secret_every_tracker_update_is_refused(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    async with problems_with(isolated, monkeypatch, secret) as problems:
        report = await a_report(problems)
        update = {"report_id": report["id"], "update": {"status": "fixed", "fixed_in": "9.9"}}
        body = json.dumps(update).encode()
        forged = [
            await problems.post(UPDATES, content=body, headers=signed(key, body))
            for key in ("", "   ", "guess")
        ]
        unsigned = await problems.post(UPDATES, content=body)
        after = ok(await problems.get(f"/v1/deficiency-reports/{report['id']}", headers=AGENT))
    for response in [*forged, unsigned]:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["title"] == "Webhook not configured"
        assert "not configured" in problem["detail"] and "refused" in problem["detail"]
        assert "HELPDESK_TRACKER_WEBHOOK_SECRET" in problem["detail"]
    assert (after["status"], after["fixed_in"], after["revision"]) == ("open", None, 0)


async def test_a_signed_body_that_is_not_an_update_is_a_422_naming_what_is_wrong(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with problems_with(isolated, monkeypatch, SECRET) as problems:
        report = await a_report(problems)
        rid = report["id"]
        cases: list[tuple[bytes, str]] = [
            (b"not json", "body"),
            (b"", "body"),
            (b"\xff\xfe\x00{", "body"),
            (b'{"report_id": "\xc3\x28", "update": {}}', "body"),  # invalid UTF-8 inside
            (b"[1, 2]", "body"),
            (b'"just a string"', "body"),
            (b"[" * 5_000, "body"),
            (json.dumps({"report_id": rid}).encode(), "update"),
            (json.dumps({"update": {"status": "in_work"}}).encode(), "body"),
            (json.dumps({"report_id": {"$ne": 1}, "update": {}}).encode(), "report_id"),
            (json.dumps({"tracker_id": {"$ne": None}, "update": {}}).encode(), "tracker_id"),
            (json.dumps({"report_id": rid, "update": []}).encode(), "update"),
            (json.dumps({"report_id": rid, "update": {"status": None}}).encode(), "status"),
            (
                json.dumps({"report_id": rid, "update": {"status": "done"}}).encode(),
                "update.status",
            ),
            (json.dumps({"report_id": rid, "update": {"colour": "red"}}).encode(), "update.colour"),
            (json.dumps({"report_id": "", "update": {}}).encode(), "report_id"),
            (
                json.dumps({"report_id": rid, "update": {"fixed_in": "x" * 101}}).encode(),
                "update.fixed_in",
            ),
        ]
        answers = [
            (field, await problems.post(UPDATES, content=body, headers=signed(SECRET, body)))
            for body, field in cases
        ]
        unknown = json.dumps({"tracker_id": "BUG-404", "update": {"status": "in_work"}}).encode()
        missing = await problems.post(UPDATES, content=unknown, headers=signed(SECRET, unknown))
        good = json.dumps({"report_id": rid, "update": {"status": "in_work"}}).encode()
        moved = await problems.post(UPDATES, content=good, headers=signed(SECRET, good))
    for field, response in answers:
        assert response.status_code == 422, (field, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]][:1] == [field], response.text
    assert missing.status_code == 404 and "BUG-404" in missing.json()["detail"]
    assert ok(moved)["status"] == "in_work" and ok(moved)["revision"] == 1
