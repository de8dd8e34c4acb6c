"""A stored record that does not load (an older version's form, or edited by hand) is that
record's problem, on the real Kafka and FerretDB: lists, search and the consumers go on
without it, it is counted, a GET of it answers 409 naming it, and a PATCH repairs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.problems.store import (
    ADVISORIES,
    INCIDENTS,
    KNOWLEDGE,
    NOTICES_DUE,
    PROBLEMS,
    RELEASES,
    REPORTS,
    WINDOW,
)
from services.problems.webhooks import DELIVERIES, Delivery, MongoDeliveryStore, WebhookSender
from shared.clock import FixedClock
from shared.db import Database
from shared.records import BadRecord
from tests.helpers import Isolation, wait_for
from tests.integration.test_problems_flows import (
    AGENT,
    LEAD,
    SAME_FAULT,
    START,
    ok,
    problem_events,
    services,
    triaged_incident,
)
from tests.integration.test_problems_webhooks import Receiver
from tests.integration.test_triage_work import created, send

pytestmark = pytest.mark.integration
BAD_KE = "KE-000900"
BAD_PROBLEM = "PRB-000900"
BAD_REPORT = "DR-000900"
COUNTER = "helpdesk_problems_bad_records_total"


def bad_count(collection: str) -> float:
    return REGISTRY.get_sample_value(COUNTER, {"collection": collection}) or 0.0


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    try:
        yield client[f"{isolated.db_prefix}problems"]
    finally:
        await client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


async def corrupt(db: Database) -> None:
    """What a hand edit or an older version could leave: a known error without a title, a
    release whose `supported` is null, a problem without a title, a report whose link is a
    number, and an incident in the detection window whose ticket has no subject."""
    await db[KNOWLEDGE].insert_one(
        {
            "_id": BAD_KE,
            "id": BAD_KE,
            "kind": "known_error",
            "title": None,
            "symptoms": "The document scanner shows offline after the firmware 2.1 update",
            "workaround": "Power-cycle the scanner",
            "created_at": START,
            "updated_at": START,
            "revision": 0,
        }
    )
    await db[RELEASES].update_one({"_id": "7.5"}, {"$set": {"supported": None}})
    await db[PROBLEMS].insert_one(
        {"_id": BAD_PROBLEM, "id": BAD_PROBLEM, "title": None, "status": "closed"}
    )
    await db[REPORTS].insert_one(
        {
            "_id": BAD_REPORT,
            "id": BAD_REPORT,
            "title": "Crash on save",
            "severity": "high",
            "affected_release": "7.3",
            "reproduction": "save",
            "tracker_url": 5,
            "created_at": START,
            "updated_at": START,
        }
    )
    await db[INCIDENTS].insert_one({"_id": "t-90", "ticket_id": "t-90", "subject": None})
    await db[WINDOW].insert_one({"_id": "t-90", "at": START, "candidate": None})
    await db[WINDOW].insert_one({"_id": "t-91", "at": START, "candidate": 5})


LISTS: dict[str, tuple[str, dict[str, str]]] = {
    "known errors": ("/v1/known-errors", {}),
    "articles": ("/v1/kb/articles", {}),
    "search": ("/v1/kb/search", {"q": "scanner offline firmware"}),
    "problems": ("/v1/problems", {}),
    "lessons": ("/v1/lessons-learned", {}),
    "releases": ("/v1/releases", {}),
    "supported": ("/v1/releases", {"supported": "true"}),
    "reports": ("/v1/deficiency-reports", {}),
    "changes": ("/v1/changes", {}),
    "advisories": ("/v1/advisories", {}),
}


async def test_a_corrupted_record_is_left_out_counted_refused_alone_and_repaired_by_a_patch(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        known = {
            "title": "Scanner offline after firmware 2.1",
            "symptoms": "The document scanner shows offline after the firmware 2.1 update",
            "workaround": "Power-cycle the scanner and re-pair it",
        }
        ke = ok(await problems.post("/v1/known-errors", json=known, headers=AGENT), 201)
        for version in ("7.4", "7.5"):
            release = {"version": version, "released_on": "2026-11-20"}
            ok(await problems.post("/v1/releases", json=release, headers=LEAD), 201)
        await corrupt(db)
        counted = {c: bad_count(c) for c in (KNOWLEDGE, RELEASES, PROBLEMS, REPORTS)}

        answers = {
            name: await problems.get(path, params=query, headers=AGENT)
            for name, (path, query) in LISTS.items()
        }

        await send(isolated, "intake", [created(1, "Scanner offline since the firmware 2.1")])
        suggested = await wait_for(
            lambda: _suggestions(problems, "t-1"), what="suggestions for the ticket after"
        )
        fault = [
            created(n, s, product="Billing", version="7.3") for n, s in enumerate(SAME_FAULT[:3], 2)
        ]
        await send(isolated, "intake", fault, key="one")
        await send(isolated, "triage", [triaged_incident(n) for n in (2, 3, 4)], key="one")
        events = await problem_events(
            isolated, lambda es: any(e.type == "problem.candidate_detected" for e in es)
        )

        refused = {
            path: await problems.get(path, headers=AGENT)
            for path in (
                "/v1/releases/7.5",
                f"/v1/known-errors/{BAD_KE}",
                f"/v1/problems/{BAD_PROBLEM}",
                f"/v1/deficiency-reports/{BAD_REPORT}",
            )
        }
        linked = await problems.post(
            f"/v1/problems/{BAD_PROBLEM}/incidents", json={"ticket_id": "t-1"}, headers=AGENT
        )
        half = await problems.patch(
            f"/v1/problems/{BAD_PROBLEM}", json={"owner": "dev"}, headers=AGENT
        )
        mended = {
            "release": await problems.patch(
                "/v1/releases/7.5", json={"supported": False}, headers=LEAD
            ),
            "known error": await problems.patch(
                f"/v1/known-errors/{BAD_KE}", json={"title": "Scanner offline (old)"}, headers=AGENT
            ),
            "report": await problems.patch(
                f"/v1/deficiency-reports/{BAD_REPORT}", json={"tracker_url": None}, headers=AGENT
            ),
        }
        after = {
            "release": ok(await problems.get("/v1/releases/7.5", headers=AGENT)),
            "releases": ok(await problems.get("/v1/releases", headers=AGENT)),
            "unsupported": ok(
                await problems.get("/v1/releases", params={"supported": "false"}, headers=AGENT)
            ),
            "search": ok(
                await problems.get("/v1/kb/search", params={"q": "scanner old"}, headers=AGENT)
            ),
            "report": ok(await problems.get(f"/v1/deficiency-reports/{BAD_REPORT}", headers=AGENT)),
            "edited": ok(
                await problems.patch("/v1/releases/7.5", json={"notes": "EOL"}, headers=LEAD)
            ),
        }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(LISTS, 200)
    listed = {name: [_key(x) for x in r.json()["items"]] for name, r in answers.items()}
    assert listed["known errors"] == [ke["id"]] == listed["search"]
    assert listed["releases"] == ["7.4"] == listed["supported"]
    assert listed["problems"] == [] == listed["lessons"] == listed["reports"]
    for collection, before in counted.items():
        assert bad_count(collection) > before, collection

    assert [(s["kind"], s["ref"]) for s in suggested["suggestions"]][:1] == [
        ("known_error", ke["id"])
    ]
    candidates = [e for e in events if e.type == "problem.candidate_detected"]
    assert len(candidates) == 1 and sorted(candidates[0].data.ticket_ids) == ["t-2", "t-3", "t-4"]

    for path, response in refused.items():
        assert response.status_code == 409, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["title"] == "Stored record unreadable"
        assert path.rsplit("/", 1)[1] in body["detail"]
    assert linked.status_code == 409
    assert half.status_code == 422 and [e["field"] for e in half.json()["errors"]] == ["title"]

    for what, response in mended.items():
        assert response.status_code == 200, (what, response.text)
    assert mended["release"].json()["supported"] is False
    assert (after["release"]["supported"], after["release"]["revision"]) == (False, 1)
    assert [r["version"] for r in after["releases"]["items"]] == ["7.5", "7.4"]
    assert [r["version"] for r in after["unsupported"]["items"]] == ["7.5"]
    assert BAD_KE in [h["id"] for h in after["search"]["items"]]
    assert after["report"]["tracker_url"] is None and after["report"]["status"] == "open"
    assert (after["edited"]["notes"], after["edited"]["revision"]) == ("EOL", 2)


def _key(item: dict[str, Any]) -> str:
    return str(item.get("id") or item.get("problem_id") or item.get("version"))


async def _suggestions(problems: httpx.AsyncClient, ticket_id: str) -> dict[str, Any] | None:
    response = await problems.get(f"/v1/suggestions/{ticket_id}", headers=AGENT)
    return response.json() if response.status_code == 200 else None


async def test_an_unreadable_scheduled_notice_does_not_hold_back_the_others(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    clock = FixedClock(START)
    async with services(isolated, monkeypatch, clock, with_triage=False) as (problems, _):
        bad = "ADV-000900"
        await db[NOTICES_DUE].insert_one(
            {"_id": bad, "publish_at": START - timedelta(hours=1), "since": START}
        )
        await db[ADVISORIES].insert_one({"_id": bad, "id": bad, "title": "old", "revision": 0})
        await db[NOTICES_DUE].insert_one({"_id": "ADV-000901", "publish_at": "soon"})
        before = bad_count(ADVISORIES)
        notice = {
            "title": "Billing 7.4 is out next week",
            "body": "Upgrade advised",
            "kind": "heads_up",
            "audience": {"everyone": True},
            "publish_at": (START + timedelta(minutes=5)).isoformat(),
        }
        scheduled = ok(await problems.post("/v1/advisories", json=notice, headers=LEAD), 201)
        clock.advance(timedelta(minutes=5))
        published = await wait_for(
            lambda: _published(problems, scheduled["id"]), what="the good notice published"
        )
        listed = ok(await problems.get("/v1/advisories", headers=AGENT))
    assert published["status"] == "published"
    assert [a["id"] for a in listed["items"]] == [scheduled["id"]]
    assert bad_count(ADVISORIES) > before


async def _published(problems: httpx.AsyncClient, advisory_id: str) -> dict[str, Any] | None:
    body: dict[str, Any] = (
        await problems.get(f"/v1/advisories/{advisory_id}", headers=AGENT)
    ).json()
    return body if body.get("status") == "published" else None


async def test_an_unreadable_webhook_record_is_skipped_and_the_others_are_posted(
    db: Database, receiver: Receiver
) -> None:
    store, clock = MongoDeliveryStore(db), FixedClock(START)
    for n in (1, 2):
        payload: dict[str, Any] = {"report": f"DR-{n}"}
        assert await store.enqueue(
            Delivery.new(f"DR-{n}:opened", receiver.url, "x", payload, START)
        )
    await db[DELIVERIES].update_one({"_id": "DR-1:opened"}, {"$set": {"payload_json": "{oops"}})
    before = bad_count(DELIVERIES)
    async with httpx.AsyncClient(trust_env=False) as http:
        sender = WebhookSender(store, http, "whsec-test", clock)
        assert await sender.send_due() == 1
    assert [r.header("X-Switchboard-Delivery") for r in receiver.received] == ["DR-2:opened"]
    delivered = await store.get("DR-2:opened")
    assert delivered is not None and delivered.status == "delivered"
    with pytest.raises(BadRecord, match="DR-1:opened"):
        await store.get("DR-1:opened")
    assert bad_count(DELIVERIES) >= before + 2
