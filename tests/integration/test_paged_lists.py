"""Every list is a page (decision 004), on the real Kafka and FerretDB: walked with limit 1 and
2 it gives each item once, in the order of the whole list, and a cursor it never gave out is
a 400 problem+json."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.app import IntakeSettings
from services.intake.app import create_app as create_intake
from services.reporting.app import ReportingSettings
from services.reporting.app import create_app as create_reporting
from services.sla.app import SlaSettings
from services.sla.app import create_app as create_sla
from services.sla.domain.clock import flagged
from services.triage.app import TriageSettings
from services.triage.app import create_app as create_triage
from services.triage.store import Alert
from shared.clock import FixedClock
from tests.helpers import Isolation, auth, in_process, pages
from tests.integration.test_customers_and_agents import ACME, contract
from tests.integration.test_intake_mailer import note
from tests.integration.test_problems_flows import AGENT, LEAD, START, ok, services
from tests.integration.test_triage_open_work import item
from tests.unit.test_sla_predict import clock as sla_clock

pytestmark = pytest.mark.integration
ADMIN = auth(["admin"])


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


FORGED = {
    "not base64": "!!!",
    "not json": b64("x"),
    "a huge number": b64(str(2**63)),
    "a huge number in a list": b64(f"[{2**63}]"),
    "a negative number": b64("[-1]"),
    "an empty list": b64("[]"),
    "a time without its offset": b64('["2026-11-02T09:00:00", "x", "y", "z"]'),
    "too many fields": b64('["a", "b", "c", "d", "e"]'),
}

Client = tuple[httpx.AsyncClient, Any]  # a service's client and its deps
Running = Callable[[Isolation, pytest.MonkeyPatch], AbstractAsyncContextManager[Client]]
Seed = Callable[[httpx.AsyncClient, Any], Awaitable[None]]


def plain(create: Callable[[], FastAPI]) -> Running:
    @asynccontextmanager
    async def running(
        isolated: Isolation, monkeypatch: pytest.MonkeyPatch
    ) -> AsyncIterator[Client]:
        for key, value in isolated.env(HELPDESK_CONFIG_TTL_SECONDS="0").items():
            monkeypatch.setenv(key, value)
        app = create()
        async with in_process(app) as client:
            yield client, app.state.deps

    return running


@asynccontextmanager
async def problems_service(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Client]:
    async with services(isolated, monkeypatch, FixedClock(START), with_triage=False) as (p, _):
        yield p, None


async def seed_intake(intake: httpx.AsyncClient, deps: Any) -> None:
    assert (await intake.post("/v1/organizations", json=ACME, headers=ADMIN)).status_code == 201
    for n in (3, 1, 4, 2):
        body = contract(f"c{n}", "gold", "2099-12-31")
        assert (await intake.post("/v1/contracts", json=body, headers=ADMIN)).status_code == 201
    for n in range(5):
        await deps.notes.queue_notification(note().model_copy(update={"id": f"n-{n}"}), START)


async def seed_problems(problems: httpx.AsyncClient, _: Any) -> None:
    for n in range(4):
        made = ok(await problems.post("/v1/problems", json={"title": f"P{n}"}, headers=AGENT), 201)
        if n != 1:
            for change in ({"fix": "patch", "status": "resolved"}, {"lessons_learned": "l"}):
                path = f"/v1/problems/{made['id']}"
                ok(await problems.patch(path, json=change, headers=AGENT))
            path = f"/v1/problems/{made['id']}"
            ok(await problems.patch(path, json={"status": "closed"}, headers=AGENT))
        known = {"title": f"Scanner fault {n}", "symptoms": "scanner offline", "workaround": "w"}
        for kind in ("known-errors", "kb/articles"):
            body = known if kind == "known-errors" else {**known, "body": "Restart the scanner"}
            ok(await problems.post(f"/v1/{kind}", json=body, headers=AGENT), 201)
        release = {"version": f"7.{n}", "released_on": f"2026-11-{20 - n % 2}"}
        ok(await problems.post("/v1/releases", json=release, headers=LEAD), 201)
        change = {"title": f"C{n}", "risk": "low", "approvers": ["lead"]}
        ok(await problems.post("/v1/changes", json=change, headers=AGENT), 201)
        notice = {"title": f"A{n}", "body": "b", "audience": {"everyone": True}}
        ok(await problems.post("/v1/advisories", json=notice, headers=LEAD), 201)
        report = {
            "title": f"R{n}",
            "severity": "high",
            "affected_release": "7.0",
            "reproduction": "save",
            "problem_id": made["id"],
        }
        ok(await problems.post("/v1/deficiency-reports", json=report, headers=AGENT), 201)


async def seed_sla(sla: httpx.AsyncClient, deps: Any) -> None:
    calendar = (await sla.get("/v1/sla/calendars", headers=ADMIN)).json()["items"][0]
    for n in range(3):
        body = {**calendar, "id": f"cal-{n}"}
        put = await sla.put(f"/v1/sla/calendars/cal-{n}", json=body, headers=ADMIN)
        assert put.status_code == 200, put.text
    for n in (1, 2, 3, 4):  # two of them due at the same time: the ticket breaks the tie
        at = START + timedelta(minutes=min(n, 3))
        await deps.store.insert_clock(flagged(sla_clock(n, at), "first_response", "slow"), [])


async def seed_triage(triage: httpx.AsyncClient, deps: Any) -> None:
    rule = (await triage.get("/v1/routing-rules", headers=ADMIN)).json()["items"][0]
    for n in range(2):  # the same order as the first: its id breaks the tie
        put = await triage.put(
            f"/v1/routing-rules/r-{n}", json={**rule, "id": f"r-{n}"}, headers=ADMIN
        )
        assert put.status_code == 200, put.text
    for n in range(6):  # ranks 3, 3, 2, 2, 1, 1; due times on four, the same age on two
        due = {"sla_due_at": START + timedelta(hours=n % 2)} if n < 4 else {"created_at": START}
        await deps.store.insert_item(item(n, rank=3 - n // 2).model_copy(update=due), [])
    alerts = [
        Alert(id=f"a-{n}", agent="tia", ticket_id="t-1", number="HD-1", at=START, what="x")
        for n in range(3)
    ]
    await deps.agents.alert([*alerts, alerts[0].model_copy(update={"id": "a-9", "at": START})])


async def seed_reporting(reporting: httpx.AsyncClient, deps: Any) -> None:
    for every in ("daily", "weekly", "monthly"):
        body = {"report": "trouble-calls", "every": every, "subscribers": ["ops@example.org"]}
        made = await reporting.post("/v1/report-schedules", json=body, headers=ADMIN)
        assert made.status_code == 201, made.text
    for n in range(4):
        report = {"id": f"g-{n}", "generated_at": START + timedelta(days=n % 2), "rows": []}
        assert await deps.schedules.keep_generated(report, [])


# service -> (how it runs, what it is seeded with, its lists: path, field naming an item, query)
LISTS: dict[str, tuple[Running, Seed, list[tuple[str, str, dict[str, str]]]]] = {
    "intake": (
        plain(lambda: create_intake(IntakeSettings())),
        seed_intake,
        [
            ("/v1/organizations/acme/contracts", "id", {}),
            ("/v1/notifications", "id", {"ticket_id": "t1"}),
        ],
    ),
    "problems": (
        problems_service,
        seed_problems,
        [
            ("/v1/problems", "id", {}),
            ("/v1/problems", "id", {"status": "closed"}),
            ("/v1/lessons-learned", "problem_id", {}),
            ("/v1/known-errors", "id", {}),
            ("/v1/kb/articles", "id", {}),
            ("/v1/kb/search", "id", {"q": "scanner fault"}),
            ("/v1/deficiency-reports", "id", {}),
            ("/v1/releases", "version", {}),
            ("/v1/releases", "version", {"supported": "true"}),
            ("/v1/changes", "id", {}),
            ("/v1/advisories", "id", {}),
        ],
    ),
    "sla": (
        plain(lambda: create_sla(SlaSettings())),
        seed_sla,
        [
            ("/v1/sla/policies", "id", {}),
            ("/v1/sla/calendars", "id", {}),
            ("/v1/sla/at-risk", "ticket_id", {}),
        ],
    ),
    "triage": (
        plain(lambda: create_triage(TriageSettings())),
        seed_triage,
        [
            ("/v1/queues", "key", {}),
            ("/v1/queues/operations/work-items", "ticket_id", {}),
            ("/v1/routing-rules", "id", {}),
            ("/v1/classification-rules", "id", {}),
            ("/v1/agents/tia/alerts", "id", {}),
        ],
    ),
    "reporting": (
        plain(lambda: create_reporting(ReportingSettings(), FixedClock(START))),
        seed_reporting,
        [
            ("/v1/reports", "name", {}),
            ("/v1/report-schedules", "id", {}),
            ("/v1/generated-reports", "id", {}),
        ],
    ),
}


ORDERS = {  # the lists whose seeds make ties the last key must break
    "/v1/lessons-learned": ["PRB-000004", "PRB-000003", "PRB-000001"],
    "/v1/releases": ["7.2", "7.0", "7.3", "7.1"],
    "/v1/sla/at-risk": ["t-1", "t-2", "t-3", "t-4"],
    "/v1/queues/operations/work-items": ["t-4", "t-5", "t-2", "t-3", "t-0", "t-1"],
    "/v1/agents/tia/alerts": ["a-9", "a-2", "a-1", "a-0"],
    "/v1/generated-reports": ["g-3", "g-1", "g-2", "g-0"],
    "/v1/notifications": [f"n-{n}" for n in range(5)],
}


@pytest.mark.parametrize("service", list(LISTS))
async def test_every_list_pages_each_item_once_in_order_and_refuses_forged_cursors(
    service: str, isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, seed, lists = LISTS[service]
    async with running(isolated, monkeypatch) as (client, deps):
        await seed(client, deps)
        for path, key, query in lists:
            for name, cursor in FORGED.items():
                got = await client.get(path, params={**query, "cursor": cursor}, headers=ADMIN)
                assert got.status_code == 400, (path, name, got.text)
                assert got.headers["content-type"].startswith("application/problem+json")
                assert "cursor" in got.json()["detail"], (path, name, got.text)
            (whole,) = await pages(client, path, 200, key, **query)
            assert len(whole) >= 3 and len(set(whole)) == len(whole), (path, whole)
            assert ORDERS.get(path, whole) == whole, (path, whole)
            for limit in (1, 2):
                walked = await pages(client, path, limit, key, **query)
                assert [k for page in walked for k in page] == whole, (path, limit, walked)
                assert all(0 < len(page) <= limit for page in walked), (path, walked)
