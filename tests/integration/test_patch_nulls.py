"""Explicit nulls in a PATCH, through the HTTP APIs on the real Kafka and FerretDB: on a field
that must have a value they are a 422 naming it and nothing is stored (the record, its lists
and search still answer); on an optional field they clear it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.triage.app import TriageSettings
from services.triage.app import create_app as triage_app
from shared.clock import FixedClock
from tests.helpers import Isolation, auth, in_process
from tests.integration.test_problems_flows import AGENT, LEAD, START, ok, services

pytestmark = pytest.mark.integration
ADMIN = auth(["admin", "supervisor"], sub="sue.lead")


def refused(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


async def test_a_null_on_a_required_field_is_a_422_and_leaves_every_read_working(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        release = {"version": "7.4", "released_on": "2026-11-20", "notes": "fixes"}
        ok(await problems.post("/v1/releases", json=release, headers=LEAD), 201)
        known = {"title": "Scanner offline", "symptoms": "offline", "workaround": "power-cycle"}
        ke = ok(await problems.post("/v1/known-errors", json=known, headers=AGENT), 201)
        article = {"title": "Pairing", "body": "Hold the button"}
        kb = ok(await problems.post("/v1/kb/articles", json=article, headers=AGENT), 201)
        opened = {"title": "VPN drops", "owner": "dev.oncall"}
        problem = ok(await problems.post("/v1/problems", json=opened, headers=AGENT), 201)
        report = {
            "title": "Export crash",
            "severity": "high",
            "affected_release": "7.3",
            "reproduction": "Export",
            "problem_id": problem["id"],
        }
        dr = ok(await problems.post("/v1/deficiency-reports", json=report, headers=AGENT), 201)
        ok(
            await problems.patch(
                f"/v1/deficiency-reports/{dr['id']}", json={"fixed_in": "7.4"}, headers=AGENT
            )
        )
        patches: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
            ("/v1/releases/7.4", {"supported": None}, "supported", LEAD),
            ("/v1/releases/7.4", {"notes": None}, "notes", LEAD),
            ("/v1/releases/7.4", {"fixed_reports": None}, "fixed_reports", LEAD),
            (f"/v1/known-errors/{ke['id']}", {"title": None}, "title", AGENT),
            (f"/v1/known-errors/{ke['id']}", {"status": None}, "status", AGENT),
            (f"/v1/known-errors/{ke['id']}", {"products": None}, "products", AGENT),
            (f"/v1/known-errors/{ke['id']}", {"workaround": ""}, "workaround", AGENT),
            (f"/v1/kb/articles/{kb['id']}", {"body": None}, "body", AGENT),
            (f"/v1/problems/{problem['id']}", {"title": None}, "title", AGENT),
            (f"/v1/problems/{problem['id']}", {"description": None}, "description", AGENT),
            (f"/v1/problems/{problem['id']}", {"status": None}, "status", AGENT),
            (f"/v1/deficiency-reports/{dr['id']}", {"status": None}, "status", AGENT),
        ]
        answers = [
            (field, await problems.patch(path, json=body, headers=who))
            for path, body, field, who in patches
        ]
        reads = [
            await problems.get(path, headers=AGENT)
            for path in (
                "/v1/releases/7.4",
                "/v1/releases",
                f"/v1/known-errors/{ke['id']}",
                "/v1/known-errors",
                "/v1/kb/articles",
                f"/v1/problems/{problem['id']}",
                "/v1/problems",
                "/v1/lessons-learned",
                f"/v1/deficiency-reports/{dr['id']}",
                "/v1/deficiency-reports",
            )
        ]
        found = await problems.get("/v1/kb/search", params={"q": "scanner"}, headers=AGENT)
        unowned = await problems.patch(
            f"/v1/problems/{problem['id']}", json={"owner": None}, headers=AGENT
        )
        unfixed = await problems.patch(
            f"/v1/deficiency-reports/{dr['id']}", json={"fixed_in": None}, headers=AGENT
        )
        repaired = await problems.patch("/v1/releases/7.4", json={"supported": False}, headers=LEAD)
    for field, response in answers:
        assert refused(response)[:1] == [field]
    assert [r.status_code for r in reads] == [200] * len(reads)
    assert (reads[0].json()["supported"], reads[0].json()["notes"]) == (True, "fixes")
    assert reads[2].json()["title"] == "Scanner offline"
    assert [h["id"] for h in found.json()["items"]] == [ke["id"]]
    assert ok(unowned)["owner"] is None
    assert ok(unfixed)["fixed_in"] is None
    assert ok(repaired)["supported"] is False


async def test_an_agent_patch_with_a_null_is_a_422_and_the_agent_stays_as_it_was(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in isolated.env(HELPDESK_CONFIG_TTL_SECONDS="0").items():
        monkeypatch.setenv(key, value)
    agent = {"id": "dan", "name": "Dan", "email": "dan@sb.example", "tier": 1, "capacity": 5}
    async with in_process(triage_app(TriageSettings(), FixedClock(START))) as triage:
        ok(await triage.post("/v1/agents", json=agent, headers=ADMIN), 201)
        nulls = {
            field: await triage.patch("/v1/agents/dan", json={field: None}, headers=ADMIN)
            for field in ("tier", "queues", "skills", "capacity", "on_shift", "on_call")
        }
        mixed = await triage.patch(
            "/v1/agents/dan", json={"capacity": 7, "on_shift": None}, headers=ADMIN
        )
        after = ok(await triage.get("/v1/agents", headers=ADMIN))
        changed = await triage.patch("/v1/agents/dan", json={"capacity": 7}, headers=ADMIN)
    for field, response in nulls.items():
        assert refused(response) == [field]
    assert refused(mixed) == ["on_shift"]
    (dan,) = after["items"]
    assert (dan["tier"], dan["capacity"], dan["on_shift"]) == (1, 5, True)
    assert ok(changed)["capacity"] == 7
