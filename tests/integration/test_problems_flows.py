"""Problem management on the real Kafka and FerretDB: problems and their incidents (shown on
triage's work items), known errors and search, suggestions for new tickets, recurrence
detection, deficiency reports posted to a tracker and its signed updates, releases that resolve
the tickets waiting for them, changes with approval and maintenance notices, scheduled notices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.problems.app import ProblemsSettings
from services.problems.app import create_app as problems_app
from services.problems.domain.recurrence import RecurrenceIndex
from services.problems.service import ProblemsDeps, Tracker
from services.problems.service.incidents import (
    RECENT_KEPT,
    index_incident,
    resolved,
    sync_resolved,
)
from services.problems.service.recurrence import CLAIM_SETTLE, rebuild, sync, text_of, triaged
from services.problems.store import (
    CANDIDATES,
    OUTBOX_COLLECTIONS,
    SEQUENCES,
    Incident,
    MongoIncidentStore,
    MongoProblemsStore,
)
from services.problems.webhooks import (
    SIGNATURE_HEADER,
    MongoDeliveryStore,
    signature_header,
    verify,
)
from services.triage.app import TriageSettings
from services.triage.app import create_app as triage_app
from shared.cache import Expiring
from shared.clock import FixedClock
from shared.events import Event
from shared.events.common import Person
from shared.events.triage import (
    TicketResolved,
    TicketResolvedData,
    TicketTriaged,
    TicketTriagedData,
)
from shared.outbox import OutboxRelay
from tests.helpers import Isolation, TopicReader, auth, in_process, wait_for
from tests.integration.test_problems_webhooks import Receiver
from tests.integration.test_triage_work import created, item_when, send

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "tracker-secret-for-tests"
SAME_FAULT = [  # one fault, reported five ways
    "Invoice PDF export fails with error E1021 in Billing 7.3",
    "Billing 7.3: exporting invoices to PDF gives error E1021",
    "Error E1021 when I export an invoice as PDF (Billing 7.3)",
    "PDF export of invoices broken, E1021, Billing 7.3",
    "Billing 7.3 PDF invoice export error E1021 again",
]
LEAD = auth(["supervisor", "agent"], sub="sue.lead")
AGENT = auth(["agent"], sub="bo")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@asynccontextmanager
async def services(
    isolated: Isolation,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
    tracker: str | None = None,
    with_triage: bool = True,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient | None]]:
    env = isolated.env(
        HELPDESK_CONFIG_TTL_SECONDS="0",
        HELPDESK_KNOWLEDGE_TTL_SECONDS="0",
        HELPDESK_WEBHOOK_SECONDS="0.1",
        HELPDESK_NOTICE_SECONDS="0.2",
        HELPDESK_TRACKER_WEBHOOK_SECRET=SECRET,
    )
    if tracker:
        env["HELPDESK_TRACKER_WEBHOOK_URL"] = tracker
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(problems_app(ProblemsSettings(), clock)) as problems:
        if not with_triage:
            yield problems, None
            return
        async with in_process(triage_app(TriageSettings(), clock)) as triage:
            yield problems, triage


async def problem_events(isolated: Isolation, enough: Any) -> list[Any]:
    async with TopicReader(isolated.infra.kafka, isolated.topic("problems")) as reader:
        await reader.read_until(lambda _: enough(reader.distinct_events()))
        return reader.distinct_events()


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_problem_links_incidents_shown_on_the_work_items_and_goes_to_closure(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock) as (problems, triage):
        assert triage is not None
        await send(isolated, "intake", [created(n, f"VPN drops after sleep {n}") for n in (1, 2)])
        for n in (1, 2):
            await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}")
        body = {"title": "VPN drops after sleep", "ticket_ids": ["t-1"], "owner": "dev.oncall"}
        opened = ok(await problems.post("/v1/problems", json=body, headers=AGENT), 201)
        pid = opened["id"]
        await item_when(triage, "t-1", lambda i: i["problem_id"] == pid, "t-1 linked")
        ok(
            await problems.post(
                f"/v1/problems/{pid}/incidents", json={"ticket_id": "t-2"}, headers=AGENT
            )
        )
        await item_when(triage, "t-2", lambda i: i["problem_id"] == pid, "t-2 linked")
        ok(await problems.delete(f"/v1/problems/{pid}/incidents/t-1", headers=AGENT))
        await item_when(triage, "t-1", lambda i: i["problem_id"] is None, "t-1 unlinked")
        too_soon = await problems.patch(
            f"/v1/problems/{pid}", json={"status": "known_error"}, headers=AGENT
        )
        known = ok(
            await problems.patch(
                f"/v1/problems/{pid}",
                json={
                    "root_cause": "MTU too large on the tunnel",
                    "workaround": "Set the MTU to 1400",
                    "status": "known_error",
                },
                headers=AGENT,
            )
        )
        found = ok(
            await problems.get("/v1/kb/search", params={"q": "vpn sleep mtu"}, headers=AGENT)
        )
        fixed = ok(
            await problems.patch(
                f"/v1/problems/{pid}",
                json={"fix": "VPN client 4.3", "status": "resolved"},
                headers=AGENT,
            )
        )
        unlearned = await problems.patch(
            f"/v1/problems/{pid}", json={"status": "closed"}, headers=AGENT
        )
        closed = ok(
            await problems.patch(
                f"/v1/problems/{pid}",
                json={"lessons_learned": "Test sleep and resume", "status": "closed"},
                headers=AGENT,
            )
        )
        lessons = ok(await problems.get("/v1/lessons-learned", headers=AGENT))
    assert too_soon.status_code == 422
    assert [e["field"] for e in too_soon.json()["errors"]] == ["root_cause"]
    assert known["status"] == "known_error" and len(known["known_error_ids"]) == 1
    assert found["items"][0]["id"] == known["known_error_ids"][0]
    assert found["items"][0]["workaround"] == "Set the MTU to 1400"
    assert fixed["status"] == "resolved" and unlearned.status_code == 422
    assert closed["status"] == "closed" and closed["ticket_ids"] == ["t-2"]
    assert [(x["problem_id"], x["lessons_learned"]) for x in lessons["items"]] == [
        (pid, "Test sleep and resume")
    ]
    events = await problem_events(isolated, lambda es: any(e.type == "problem.closed" for e in es))
    kinds = [e.type for e in events]
    assert kinds.count("problem.incident_linked") == 3  # t-1, t-2, and t-1 unlinked
    assert [e.type for e in events if e.type.startswith("problem.")] == [
        "problem.created",
        "problem.incident_linked",
        "problem.incident_linked",
        "problem.incident_linked",
        "problem.resolved",
        "problem.closed",
    ]
    assert "known_error.published" in kinds


def triaged_incident(n: int) -> Event[Any]:
    data = {
        "ticket_id": f"t-{n}",
        "number": f"HD-{n:06d}",
        "type": "incident",
        "impact": "medium",
        "urgency": "medium",
        "priority": "normal",
        "queue": "operations",
        "tier": 1,
        "status": "open",
        "organization_id": "acme",
        "entitled": True,
    }
    triaged: Event[Any] = TicketTriaged.create(
        source="triage", subject=f"t-{n}", time=START, data=TicketTriagedData.model_validate(data)
    )
    return triaged


async def test_three_similar_incidents_in_a_week_are_named_once_as_a_candidate(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    same = SAME_FAULT[:4]
    other = ["Please add a new user account for our intern", "Printer on floor 3 jams paper"]
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        tickets = [
            created(n, subject, product="Billing", version="7.3")
            for n, subject in enumerate(same[:3] + other, start=1)
        ]
        await send(isolated, "intake", tickets, key="one")
        await send(isolated, "triage", [triaged_incident(n) for n in range(1, 6)], key="one")
        events = await problem_events(
            isolated, lambda es: any(e.type == "problem.candidate_detected" for e in es)
        )
        await send(
            isolated, "intake", [created(6, same[3], product="Billing", version="7.3")], key="one"
        )
        await send(isolated, "triage", [triaged_incident(6)], key="one")
        await wait_for(lambda: _suggested(problems, "t-6"), what="the fourth incident handled")
    later = await problem_events(
        isolated, lambda es: sum(e.type == "ticket.suggestions" for e in es) >= 6
    )
    candidates = [e for e in later if e.type == "problem.candidate_detected"]
    assert len(candidates) == 1
    assert sorted(candidates[0].data.ticket_ids) == ["t-1", "t-2", "t-3"]
    assert candidates[0].data.reason
    assert [e.type for e in events].count("problem.candidate_detected") == 1


async def _suggested(problems: httpx.AsyncClient, ticket_id: str) -> bool:
    response = await problems.get(f"/v1/suggestions/{ticket_id}", headers=AGENT)
    return response.status_code == 200


async def test_a_new_ticket_is_suggested_the_known_error_and_a_similar_resolved_ticket(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock) as (problems, triage):
        assert triage is not None
        known = {
            "title": "Scanner offline after firmware 2.1",
            "symptoms": "The document scanner shows offline after the firmware 2.1 update",
            "workaround": "Power-cycle the scanner and re-pair it",
        }
        ke = ok(await problems.post("/v1/known-errors", json=known, headers=AGENT), 201)
        await send(
            isolated,
            "intake",
            [created(1, "Label printer prints blank labels", description="Zebra ZD420 blank")],
        )
        await item_when(triage, "t-1", lambda i: True, "ticket 1")
        resolved = TicketResolved.create(
            source="triage",
            subject="t-1",
            time=START,
            data=TicketResolvedData(
                ticket_id="t-1",
                number="HD-000001",
                resolution="Replaced the thermal print head ribbon",
                by=Person(email="bo@helpdesk.example"),
            ),
        )
        await send(isolated, "triage", [resolved])
        await wait_for(lambda: _resolution_known(isolated, "t-1"), what="resolution kept")
        await send(
            isolated,
            "intake",
            [
                created(2, "Scanner offline since the firmware 2.1 update"),
                created(3, "Zebra label printer prints blank labels", description="ZD420"),
            ],
        )
        scanner = await item_when(triage, "t-2", lambda i: i["suggestions"], "t-2 suggestions")
        printer = await item_when(triage, "t-3", lambda i: i["suggestions"], "t-3 suggestions")
        attempt = ok(
            await problems.post(
                f"/v1/known-errors/{ke['id']}/failed-attempts",
                json={"what": "Reinstalled the driver", "ticket_id": "t-2"},
                headers=AGENT,
            )
        )
    first = scanner["suggestions"][0]
    assert (first["kind"], first["ref"]) == ("known_error", ke["id"])
    assert first["detail"] == "Power-cycle the scanner and re-pair it"
    similar = [s for s in printer["suggestions"] if s["kind"] == "resolved_ticket"]
    assert similar and similar[0]["ref"] == "t-1"
    assert similar[0]["detail"] == "Replaced the thermal print head ribbon"
    assert all(s["ref"] != ke["id"] for s in printer["suggestions"])
    assert [a["what"] for a in attempt["failed_attempts"]] == ["Reinstalled the driver"]


async def _resolution_known(isolated: Isolation, ticket_id: str) -> bool:
    from services.problems.store import RESOLUTIONS

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.infra.mongodb_uri)
    try:
        db = client[f"{isolated.db_prefix}problems"]
        return await db[RESOLUTIONS].find_one({"_id": ticket_id}) is not None
    finally:
        await client.close()


async def test_a_deficiency_report_is_posted_signed_and_the_trackers_signed_updates_move_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock, tracker=receiver.url) as (problems, triage):
        assert triage is not None
        await send(isolated, "intake", [created(1, "Crash when exporting to Excel")])
        await item_when(triage, "t-1", lambda i: True, "ticket 1")
        await wait_for(lambda: _suggested(problems, "t-1"), what="t-1 indexed")
        report = {
            "title": "Excel export crashes",
            "severity": "high",
            "affected_release": "7.3",
            "reproduction": "1. Open a report 2. Export to Excel 3. Crash",
            "ticket_ids": ["t-1"],
        }
        dr = ok(await problems.post("/v1/deficiency-reports", json=report, headers=AGENT), 201)
        await wait_for(lambda: _received(receiver), what="the tracker's webhook")
        update = {
            "report_id": dr["id"],
            "update": {
                "status": "in_work",
                "tracker_id": "BUG-77",
                "tracker_url": "https://bugs.example/77",
            },
        }
        body = json.dumps(update).encode()
        stamp = int(START.timestamp())
        signed = {SIGNATURE_HEADER: signature_header(SECRET, stamp, body)}
        moved = ok(
            await problems.post(
                "/v1/deficiency-reports/tracker-updates", content=body, headers=signed
            )
        )
        again = ok(
            await problems.post(
                "/v1/deficiency-reports/tracker-updates", content=body, headers=signed
            )
        )
        forged = await problems.post(
            "/v1/deficiency-reports/tracker-updates",
            content=body,
            headers={SIGNATURE_HEADER: signature_header("wrong", stamp, body)},
        )
    posted = receiver.received[0]
    verify(SECRET, posted.header(SIGNATURE_HEADER), posted.body, START)
    payload = json.loads(posted.body)
    assert payload["event"] == "deficiency_report.opened"
    assert (payload["report"]["report_id"], payload["report"]["organization_ids"]) == (
        dr["id"],
        ["acme"],
    )
    assert (moved["status"], moved["tracker_id"]) == ("in_work", "BUG-77")
    assert again["revision"] == moved["revision"]  # a repeated update changes nothing
    assert forged.status_code == 401 and forged.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert len(receiver.received) == 1  # the tracker's own update is not echoed back to it
    events = await problem_events(
        isolated, lambda es: any(e.type == "deficiency_report.updated" for e in es)
    )
    assert [e.type for e in events if e.type.startswith("deficiency")] == [
        "deficiency_report.opened",
        "deficiency_report.updated",
    ]


async def _received(receiver: Receiver) -> bool:
    return bool(receiver.received)


async def test_a_published_release_resolves_the_tickets_that_waited_for_its_fix(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock) as (problems, triage):
        assert triage is not None
        await send(isolated, "intake", [created(n, f"Export crash {n}") for n in (1, 2, 3)])
        for n in (1, 2, 3):
            await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}")
            await wait_for(partial(_suggested, problems, f"t-{n}"), what=f"t-{n} indexed")
        pending = {
            "resolution": "A fix is coming in 7.4",
            "resolution_code": "fix_pending",
            "fix_release": "7.4",
        }
        ok(await triage.post("/v1/work-items/t-2/resolve", json=pending, headers=AGENT))
        body = {"title": "Export crash", "ticket_ids": ["t-3"]}
        problem = ok(await problems.post("/v1/problems", json=body, headers=AGENT), 201)
        report = {
            "title": "Export crash",
            "severity": "critical",
            "affected_release": "7.3",
            "reproduction": "Export",
            "ticket_ids": ["t-1", "t-2"],
            "problem_id": problem["id"],
        }
        dr = ok(await problems.post("/v1/deficiency-reports", json=report, headers=AGENT), 201)
        release = {
            "version": "7.4",
            "product": "Billing",
            "released_on": "2026-11-20",
            "fixed_reports": [dr["id"]],
        }
        ok(await problems.post("/v1/releases", json=release, headers=LEAD), 201)
        published = ok(await problems.post("/v1/releases/7.4/publish", headers=LEAD))
        twice = await problems.post("/v1/releases/7.4/publish", headers=LEAD)
        first = await item_when(triage, "t-1", lambda i: i["status"] == "resolved", "t-1 fixed")
        second = await item_when(
            triage,
            "t-2",
            lambda i: i["resolution"]["resolution_code"] == "fix_released",
            "t-2 told",
        )
        third = await item_when(triage, "t-3", lambda i: i["status"] == "resolved", "t-3 fixed")
        after = ok(await problems.get(f"/v1/deficiency-reports/{dr['id']}", headers=AGENT))
        supported = ok(
            await problems.get("/v1/releases", params={"supported": "true"}, headers=AGENT)
        )
    assert sorted(published["ticket_ids"]) == ["t-1", "t-2", "t-3"]
    assert published["organization_ids"] == ["acme"] and twice.status_code == 409
    assert first["resolution"]["resolution_code"] == "fix_released"
    assert (second["resolution"]["fix_release"], second["status"]) == ("7.4", "resolved")
    assert third["resolution"]["fix_release"] == "7.4"
    assert (after["status"], after["fixed_in"]) == ("released", "7.4")
    assert [r["version"] for r in supported["items"]] == ["7.4"]


async def test_a_change_needs_every_approval_announces_its_maintenance_and_resolves_its_problem(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    cab, ops = auth(["agent"], sub="cab"), auth(["agent"], sub="ops")
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        problem = ok(
            await problems.post("/v1/problems", json={"title": "Disk full"}, headers=AGENT), 201
        )
        window = {
            "starts_at": (START + timedelta(days=3)).isoformat(),
            "ends_at": (START + timedelta(days=3, hours=2)).isoformat(),
            "estimated_downtime_minutes": 30,
        }
        body = {
            "title": "Extend the database volume",
            "risk": "high",
            "approvers": ["cab@example.org", "ops@example.org"],
            "window": window,
            "benefits": "No more outages from a full disk",
            "problem_id": problem["id"],
            "organization_ids": ["acme"],
        }
        change = ok(await problems.post("/v1/changes", json=body, headers=AGENT), 201)
        cid = change["id"]
        early = await problems.post(
            f"/v1/changes/{cid}/outcome", json={"outcome": "done"}, headers=AGENT
        )
        stranger = await problems.post(
            f"/v1/changes/{cid}/decisions", json={"approved": True}, headers=AGENT
        )
        half = ok(
            await problems.post(
                f"/v1/changes/{cid}/decisions", json={"approved": True}, headers=cab
            )
        )
        full = ok(
            await problems.post(
                f"/v1/changes/{cid}/decisions", json={"approved": True}, headers=ops
            )
        )
        done = ok(
            await problems.post(
                f"/v1/changes/{cid}/outcome", json={"outcome": "Volume extended"}, headers=AGENT
            )
        )
        resolved = ok(await problems.get(f"/v1/problems/{problem['id']}", headers=AGENT))
        rejected = ok(
            await problems.post("/v1/changes", json={**body, "problem_id": None}, headers=AGENT),
            201,
        )
        no = ok(
            await problems.post(
                f"/v1/changes/{rejected['id']}/decisions",
                json={"approved": False, "comment": "not now"},
                headers=ops,
            )
        )
    assert (early.status_code, stranger.status_code) == (409, 403)
    assert (half["status"], full["status"], done["status"]) == (
        "requested",
        "approved",
        "completed",
    )
    assert resolved["status"] == "resolved" and resolved["change_ids"] == [cid]
    assert no["status"] == "rejected"
    events = await problem_events(isolated, lambda es: any(e.type == "change.rejected" for e in es))
    kinds = [e.type for e in events]
    for kind in ("change.requested", "change.approved", "change.completed", "problem.resolved"):
        assert kind in kinds
    notice = next(e for e in events if e.type == "advisory.published")
    assert (notice.data.kind, notice.data.organization_ids) == ("maintenance", ["acme"])
    assert notice.data.starts_at == START + timedelta(days=3)
    assert "30 minutes" in notice.data.body and "full disk" in notice.data.body


async def test_a_notice_is_published_at_its_time_and_a_withdrawn_one_never(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        later = {
            "title": "Billing 7.4 is out next week",
            "body": "Upgrade advised",
            "kind": "heads_up",
            "audience": {"products": ["Billing 7.3"], "sites": ["hq"]},
            "publish_at": (START + timedelta(hours=1)).isoformat(),
        }
        first = ok(await problems.post("/v1/advisories", json=later, headers=LEAD), 201)
        second = ok(await problems.post("/v1/advisories", json=later, headers=LEAD), 201)
        ok(await problems.post(f"/v1/advisories/{second['id']}/withdraw", headers=LEAD))
        refused = await problems.post(
            "/v1/advisories", json={**later, "audience": {}}, headers=LEAD
        )
        by_agent = await problems.post("/v1/advisories", json=later, headers=AGENT)
        before = ok(await problems.get(f"/v1/advisories/{first['id']}", headers=AGENT))
        clock.advance(timedelta(hours=1))
        after = await wait_for(
            lambda: _published(problems, first["id"]), what="the notice published at its time"
        )
    assert (refused.status_code, by_agent.status_code) == (422, 403)
    assert before["status"] == "scheduled" and after["status"] == "published"
    events = await problem_events(
        isolated, lambda es: any(e.type == "advisory.published" for e in es)
    )
    published = [e for e in events if e.type == "advisory.published"]
    assert [e.data.advisory_id for e in published] == [first["id"]]
    assert (published[0].data.products, published[0].data.sites) == (["Billing 7.3"], ["hq"])


async def _published(problems: httpx.AsyncClient, advisory_id: str) -> dict[str, Any] | None:
    body = (await problems.get(f"/v1/advisories/{advisory_id}", headers=AGENT)).json()
    return body if body["status"] == "published" else None


async def test_two_replicas_name_the_incidents_they_took_between_them_once(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    same = SAME_FAULT
    async with services(isolated, monkeypatch, clock, with_triage=False) as (first, _):
        async with in_process(problems_app(ProblemsSettings(), clock)) as second:
            tickets = [
                created(n, subject, product="Billing", version="7.3")
                for n, subject in enumerate(same, start=1)
            ]
            await send(isolated, "intake", tickets)  # keyed by ticket: over the partitions
            await send(isolated, "triage", [triaged_incident(n) for n in range(1, 6)])
            for n in range(1, 6):
                await wait_for(partial(_suggested, first, f"t-{n}"), what=f"t-{n} indexed")
            events = await problem_events(
                isolated, lambda es: any(e.type == "problem.candidate_detected" for e in es)
            )
            assert (await second.get("/v1/suggestions/t-1", headers=AGENT)).status_code == 200
    later = await problem_events(
        isolated, lambda es: sum(e.type == "ticket.suggestions" for e in es) >= 5
    )
    named = [e.data.ticket_ids for e in later if e.type == "problem.candidate_detected"]
    assert len(named) == 1 and len(named[0]) >= 3
    assert set(named[0]) <= {f"t-{n}" for n in range(1, 6)}
    assert [e.type for e in events].count("problem.candidate_detected") == 1


class _Unpublished:
    """The relay's publisher in tests that only read the store: nothing is relayed."""

    service = "problems"

    async def publish(self, event: dict[str, Any]) -> None:
        raise AssertionError("this test starts no relay")


@asynccontextmanager
async def replicas(
    isolated: Isolation, clock: FixedClock, count: int = 2, name: str = "problems"
) -> AsyncIterator[list[ProblemsDeps]]:
    """The deps of `count` replicas of the service, each with its own client and detector, on
    one database (no broker: the use cases are called directly)."""
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(isolated.infra.mongodb_uri, tz_aware=True) for _ in range(count)
    ]
    deps = []
    for client in clients:
        db = client[f"{isolated.db_prefix}{name}"]
        relay = OutboxRelay(
            db=db,
            publisher=_Unpublished(),
            collections=OUTBOX_COLLECTIONS,
            sweep_seconds=60,
            clock=clock,
        )
        deps.append(
            ProblemsDeps(
                store=MongoProblemsStore(db),
                incidents=MongoIncidentStore(db),
                relay=relay,
                clock=clock,
                recurrence=RecurrenceIndex(k=3, window=timedelta(days=7)),
                resolved=RecurrenceIndex(k=10**9, window=timedelta(days=180)),
                deliveries=MongoDeliveryStore(db),
                tracker=Tracker(url=None, secret=""),
                knowledge=Expiring(0),
            )
        )
    try:
        yield deps
    finally:
        for client in clients:
            await client.close()


async def _candidates(isolated: Isolation, name: str = "problems") -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.infra.mongodb_uri)
    try:
        docs = await client[f"{isolated.db_prefix}{name}"][CANDIDATES].find().to_list(None)
    finally:
        await client.close()
    return docs


async def test_of_two_candidates_wanting_one_incident_exactly_one_claims_it(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    async with replicas(isolated, clock) as (one, two):
        for round_ in range(15):
            ids = [f"r{round_}-{x}" for x in "abcd"]
            for ticket_id in ids:
                assert await one.incidents.enter_window(ticket_id, START)
            x, y = f"pc-x{round_}", f"pc-y{round_}"
            held = await asyncio.gather(
                one.incidents.claim(x, ids[:3], START), two.incidents.claim(y, ids[1:], START)
            )
            assert sorted(held, key=str) == sorted([None, x if held[1] else y], key=str)
            winner = x if held[0] is None else y
            window = {e.ticket_id: e.candidate for e in await one.incidents.window_since(START)}
            mine = ids[:3] if winner == x else ids[1:]
            assert [window[t] for t in ids] == [winner if t in mine else None for t in ids]


async def test_two_replicas_taking_a_fault_s_incidents_between_them_name_it_once(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    for round_ in range(4):  # each round on a database of its own: a fresh window
        async with replicas(isolated, clock, name=f"problems_r{round_}") as deps:
            events = [
                created(n, subject, product="Billing", version="7.3")
                for n, subject in enumerate(SAME_FAULT, start=1)
            ]
            for n, event in enumerate(events):
                await index_incident(event, deps[n % 2])
            await asyncio.gather(
                *(triaged(triaged_incident(n), deps[(n + round_) % 2]) for n in range(1, 6))
            )
            for replica in deps:
                await sync(replica)  # each has seen every incident now
            named = await _candidates(isolated, f"problems_r{round_}")
            window = await deps[0].incidents.window_since(START - timedelta(days=1))
        assert len(named) == 1 and len(named[0]["ticket_ids"]) >= 3
        assert named[0]["outbox"][0]["type"] == "problem.candidate_detected"
        claimed = {e.ticket_id for e in window if e.candidate == named[0]["_id"]}
        assert claimed == set(named[0]["ticket_ids"])
        assert {e.candidate for e in window} <= {None, named[0]["_id"]}


async def test_a_group_whose_candidate_a_crash_left_unrecorded_is_named_at_the_next_start(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    async with replicas(isolated, clock) as (crashed, restarted):
        for n, subject in enumerate(SAME_FAULT[:3], start=1):
            await index_incident(created(n, subject, product="Billing", version="7.3"), crashed)
            await crashed.incidents.enter_window(f"t-{n}", START)
        assert await crashed.incidents.claim("pc-lost", ["t-1", "t-2", "t-3"], START) is None
        clock.advance(CLAIM_SETTLE)  # the replica stopped before recording "pc-lost"
        await rebuild(restarted)
        named = await _candidates(isolated)
    assert [sorted(c["ticket_ids"]) for c in named] == [["t-1", "t-2", "t-3"]]
    assert named[0]["_id"] != "pc-lost"


async def test_a_restarted_replica_names_no_recorded_candidate_again(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    async with replicas(isolated, clock) as (first, later):
        for n, subject in enumerate(SAME_FAULT[:4], start=1):
            await index_incident(created(n, subject, product="Billing", version="7.3"), first)
            await triaged(triaged_incident(n), first)
        assert len(await _candidates(isolated)) == 1
        await rebuild(later)
        await index_incident(created(6, SAME_FAULT[4], product="Billing", version="7.3"), later)
        await triaged(triaged_incident(6), later)
        named = await _candidates(isolated)
        sixth = await _incident(later, "t-6")
    assert len(named) == 1
    assert later.recurrence.joins(text_of(sixth)) == named[0]["_id"]


async def _incident(deps: ProblemsDeps, ticket_id: str) -> Incident:
    found = await deps.incidents.get_incident(ticket_id)
    assert found is not None
    return found


async def test_a_replica_learns_the_resolutions_another_took_from_the_live_set(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    async with replicas(isolated, clock) as (one, two):
        await index_incident(created(1, "Label printer prints blank labels"), one)
        await sync_resolved(two)  # nothing resolved yet: read from all resolutions, at start
        resolved_ = TicketResolved.create(
            source="triage",
            subject="t-1",
            time=START,
            data=TicketResolvedData(
                ticket_id="t-1",
                number="HD-000001",
                resolution="Replaced the ribbon",
                by=Person(email="bo@helpdesk.example"),
            ),
        )
        await resolved(resolved_, one)
        clock.advance(timedelta(seconds=30))
        assert await sync_resolved(two) == 1  # from the live set
        clock.advance(RECENT_KEPT)
        assert await one.incidents.forget_resolved(clock.now() - RECENT_KEPT) == 1
        query = created(2, "Zebra label printer prints blank labels")
        await index_incident(query, two)
        suggested = await two.incidents.get_suggestions("t-2")
    assert suggested is not None
    refs = [(s["kind"], s["ref"]) for s in suggested["suggestions"]]
    assert ("resolved_ticket", "t-1") in refs


async def test_ids_come_from_one_counter_per_kind_continuing_after_older_ids(
    isolated: Isolation,
) -> None:
    clock = FixedClock(START)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated.infra.mongodb_uri)
    try:  # as an older version left them: one document per id taken
        older = [{"_id": f"PRB-{n:06d}", "prefix": "PRB"} for n in (1, 2, 3)]
        await client[f"{isolated.db_prefix}problems"][SEQUENCES].insert_many(older)
    finally:
        await client.close()
    async with replicas(isolated, clock) as (one, two):
        await one.store.carry_over_sequences()
        await two.store.carry_over_sequences()
        taken = await asyncio.gather(
            *(replica.store.next_id("PRB") for replica in (one, two) for _ in range(10))
        )
        first_ke = await two.store.next_id("KE")
    assert sorted(taken) == [f"PRB-{n:06d}" for n in range(4, 24)]
    assert first_ke == "KE-000001"
