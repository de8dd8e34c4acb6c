"""Coercions refused through the HTTP APIs on the real Kafka and FerretDB (decision 005): an agent
with "on_call": 0 or "tier": "3", a routing rule with "order": false, a release "released_on" 0 are
each a 422 naming only that field, and nothing is stored; the same bodies in JSON's own types (a
date as its ISO string) are taken as they were before."""

from __future__ import annotations

import pytest

from services.triage.app import TriageSettings, create_app
from shared.clock import FixedClock
from tests.helpers import Isolation, auth, in_process
from tests.integration.test_patch_nulls import refused
from tests.integration.test_problems_flows import LEAD, START, ok, services

pytestmark = pytest.mark.integration
ADMIN = auth(["admin", "supervisor"], sub="sue.lead")
AGENT = {"id": "ann.first", "name": "Ann", "email": "ann@sb.example", "tier": 1, "on_call": True}
RULE = {"id": "globex-first", "queue": "compatibility", "order": 1}


async def test_an_agent_or_rule_with_a_coerced_value_is_refused_naming_the_field(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(TriageSettings(), FixedClock(START))) as triage:
        for field, wrong in (("on_call", 0), ("tier", "3"), ("capacity", 10.0), ("on_shift", "no")):
            body = {**AGENT, field: wrong}
            answer = await triage.post("/v1/agents", json=body, headers=ADMIN)
            assert refused(answer) == [f"body.{field}"], body
        patch = await triage.patch("/v1/agents/x", json={"supervisor": 1}, headers=ADMIN)
        assert refused(patch) == ["body.supervisor"]
        rule = await triage.put(f"/v1/routing-rules/{RULE['id']}", json=RULE | {"order": False})
        assert rule.status_code == 401  # the token is checked first, as before
        rule = await triage.put(
            f"/v1/routing-rules/{RULE['id']}", json=RULE | {"order": False}, headers=ADMIN
        )
        assert refused(rule) == ["body.order"]
        assert (await triage.get("/v1/agents/ann.first", headers=ADMIN)).status_code == 404

        made = ok(await triage.post("/v1/agents", json=AGENT, headers=ADMIN), 201)
        assert (made["on_call"], made["tier"]) == (True, 1)
        saved = ok(await triage.put(f"/v1/routing-rules/{RULE['id']}", json=RULE, headers=ADMIN))
        assert saved["order"] == 1


async def test_a_date_is_its_iso_string_not_a_number(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with services(isolated, monkeypatch, FixedClock(START), with_triage=False) as (api, _):
        for wrong in (0, "20261120", 1_763_596_800):
            release = {"version": "7.4", "released_on": wrong}
            answer = await api.post("/v1/releases", json=release, headers=LEAD)
            assert refused(answer) == ["body.released_on"], wrong
        release = {"version": "7.4", "released_on": "2026-11-20", "supported": True}
        made = ok(await api.post("/v1/releases", json=release, headers=LEAD), 201)
        assert (made["released_on"], made["supported"]) == ("2026-11-20", True)
