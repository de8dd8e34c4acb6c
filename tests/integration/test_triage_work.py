"""Triage on real Kafka and FerretDB: routing, assignment by load within capacity, claims,
escalation on SLA events, corrections, the configuration API, the auto-close sweep."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.triage.app import TriageSettings, create_app
from shared.clock import FixedClock
from shared.events import Event, parse_event
from shared.events.common import Channel, Person
from shared.events.intake import (
    TicketCreated,
    TicketCreatedData,
    TicketFeedbackReceived,
    TicketFeedbackReceivedData,
)
from shared.events.sla import (
    SlaAtRisk,
    SlaBreached,
    SlaClockPaused,
    SlaClockPauseData,
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockStarted,
    SlaClockStartedData,
    SlaTarget,
    SlaTargetData,
)
from tests.helpers import Isolation, TopicReader, auth, in_process, pages, wait_for

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ADMIN = auth(["admin", "supervisor"], sub="sue.lead")
XYZ = ["xia", "yan", "zoe"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def triage(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    env = isolated.env(
        HELPDESK_TRIAGE_SWEEP_SECONDS="0.2",
        HELPDESK_AUTO_CLOSE_HOURS="24",
        HELPDESK_CONFIG_TTL_SECONDS="0",
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(TriageSettings(), clock)) as client:
        yield client


def created(n: int, subject: str = "Scanner offline", **fields: Any) -> TicketCreated:
    data = {
        "ticket_id": f"t-{n}",
        "number": f"HD-{n:06d}",
        "subject": subject,
        "channel": Channel.WEB,
        "requester": Person(email="ann@acme.example"),
        "organization_id": "acme",
        "entitled": True,
        "created_at": START + timedelta(seconds=n),
    } | fields
    return TicketCreated.create(
        source="intake", subject=f"t-{n}", time=START, data=TicketCreatedData.model_validate(data)
    )


async def send(
    isolated: Isolation, topic: str, events: list[Event[Any]], key: str | None = None
) -> None:
    """Keyed by ticket (partitions work in parallel), or all under one key (in order)."""
    producer = AIOKafkaProducer(bootstrap_servers=isolated.infra.kafka)
    await producer.start()
    try:
        for event in events:
            by = (key or event.subject).encode()
            await producer.send(isolated.topic(topic), event.to_json(), key=by)
        await producer.flush()
    finally:
        await producer.stop()


async def item_when(
    triage: httpx.AsyncClient, ticket_id: str, check: Any, what: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await triage.get(f"/v1/work-items/{ticket_id}", headers=auth())
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and check(body) else None

    return await wait_for(probe, within=60, what=what)


async def add_agents(triage: httpx.AsyncClient, *agents: dict[str, Any]) -> None:
    for agent in agents:
        body = {"name": agent["id"].title(), "email": f"{agent['id']}@helpdesk.example"} | agent
        response = await triage.post("/v1/agents", json=body, headers=ADMIN)
        assert response.status_code == 201, response.text


async def test_routing_rules_from_the_api_send_tickets_to_their_queues(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    rule = {"id": "globex-first", "queue": "compatibility", "order": 1, "organizations": ["globex"]}
    bad = {"id": "nowhere", "queue": "no-such-queue"}
    assert (await triage.put("/v1/routing-rules/globex-first", json=rule, headers=ADMIN)).is_success
    refused = await triage.put("/v1/routing-rules/nowhere", json=bad, headers=ADMIN)
    forbidden = await triage.put("/v1/routing-rules/x", json=rule, headers=auth())
    assert refused.status_code == 400 and "no-such-queue" in refused.json()["detail"]
    assert forbidden.status_code == 403
    await send(
        isolated,
        "intake",
        [
            created(1, "Server is down, nobody can log in, urgent"),
            created(2, "Is version 7 compatible with Windows 11?"),
            created(3, "How do I export a report?", organization_id="globex"),
            created(4, "Printer broken", entitled=False),
            created(5, "Please create an account for our new colleague"),
        ],
    )
    queues = {}
    for n in range(1, 6):
        item = await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n} triaged")
        queues[n] = (item["queue"], item["type"])
    assert queues == {
        1: ("operations", "incident"),
        2: ("compatibility", "incident"),
        3: ("compatibility", "consultation"),
        4: ("verification", "incident"),
        5: ("general-questions", "service_request"),
    }
    first = await item_when(triage, "t-1", lambda i: True, "ticket 1")
    assert first["priority"] == "highest"  # nobody can log in (impact) x urgent (urgency)
    assert any("routing rule operations-incidents" in line for line in first["explanation"])


async def test_a_hundred_tickets_are_shared_by_least_load_within_capacity(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    queue = {"key": "general-questions", "name": "General", "skills": ["accounts"]}
    assert (await triage.put("/v1/queues/general-questions", json=queue, headers=ADMIN)).is_success
    team = [
        {"id": "amy", "tier": 1, "capacity": 30},
        {"id": "ben", "tier": 1, "capacity": 30},
        {"id": "cat", "tier": 1, "capacity": 30},
        {"id": "dan", "tier": 1, "capacity": 5},
        {"id": "eve", "tier": 1, "capacity": 50, "on_shift": False},
        {"id": "fay", "tier": 2, "capacity": 50},
        {"id": "gus", "tier": 1, "capacity": 50, "skills": []},
    ]
    await add_agents(
        triage,
        *[{"queues": ["general-questions"], "skills": ["accounts"]} | agent for agent in team],
    )
    await send(isolated, "intake", [created(n, "Question about invoices") for n in range(100)])

    async def all_triaged() -> list[dict[str, Any]] | None:
        items = [(await triage.get(f"/v1/work-items/t-{n}", headers=auth())) for n in range(100)]
        if any(i.status_code != 200 for i in items):
            return None
        return [i.json() for i in items]

    items = await wait_for(all_triaged, within=120, what="100 tickets triaged")
    load = Counter(i["assignee"] for i in items)
    assert load == {"amy": 30, "ben": 30, "cat": 30, "dan": 5, None: 5}
    waiting = await triage.get("/v1/queues/general-questions/work-items?limit=100", headers=auth())
    assert len([i for i in waiting.json()["items"] if i["assignee"] is None]) == 5

    unassigned = next(i["ticket_id"] for i in items if i["assignee"] is None)
    full = await triage.post(
        f"/v1/work-items/{unassigned}/assign", json={"agent": "amy"}, headers=ADMIN
    )
    wrong_tier = await triage.post(
        f"/v1/work-items/{unassigned}/assign", json={"agent": "fay"}, headers=ADMIN
    )
    assert full.status_code == 409 and "capacity" in full.json()["detail"]
    assert wrong_tier.status_code == 409
    done = next(i["ticket_id"] for i in items if i["assignee"] == "amy")
    resolved = await triage.post(
        f"/v1/work-items/{done}/resolve", json={"resolution": "Answered"}, headers=auth()
    )
    assert resolved.status_code == 200
    after = await all_triaged()
    assert after is not None
    waiting_now = [i for i in after if i["assignee"] is None]
    assert len(waiting_now) == 4  # amy's freed place went to the oldest waiting ticket
    assert Counter(i["assignee"] for i in after if i["status"] != "resolved")["amy"] == 30
    more = await triage.patch("/v1/agents/dan", json={"capacity": 6}, headers=ADMIN)
    claimed = await triage.post(
        f"/v1/work-items/{waiting_now[0]['ticket_id']}/claim", headers=auth(sub="dan")
    )
    assert more.status_code == 200 and claimed.status_code == 200, claimed.text
    assert (claimed.json()["assignee"], claimed.json()["status"]) == ("dan", "assigned")
    assert "claimed from the queue" in claimed.json()["history"][-1]["reason"]


async def test_agents_with_equal_load_take_turns(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    await add_agents(
        triage, *[{"id": name, "tier": 1, "queues": ["general-questions"]} for name in XYZ]
    )
    await send(isolated, "intake", [created(n, "Question") for n in range(7)], key="in-order")
    items = [
        await item_when(triage, f"t-{n}", lambda i: i["assignee"], f"ticket {n} assigned")
        for n in range(7)
    ]
    assert [i["assignee"] for i in items] == [*XYZ, *XYZ, XYZ[0]]


async def test_sla_events_escalate_up_the_tiers_to_on_call_and_supervisor(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    ops = {"key": "operations", "name": "Ops", "on_call": "olga", "supervisor": "sue"}
    assert (await triage.put("/v1/queues/operations", json=ops, headers=ADMIN)).is_success
    await add_agents(
        triage,
        {"id": "tim", "tier": 1, "queues": ["operations"]},
        {"id": "sam", "tier": 2, "queues": ["operations"]},
        {"id": "olga", "tier": 3, "queues": ["operations"], "on_call": True},
        {"id": "sue", "tier": 2, "queues": [], "supervisor": True},
        {"id": "zed", "tier": 1, "queues": ["general-questions"]},
    )
    await send(isolated, "intake", [created(1, "Backup job failed", type_hint="incident")])
    await item_when(triage, "t-1", lambda i: i["assignee"] == "tim", "assigned to tier 1")

    def sla(kind: type[SlaBreached] | type[SlaAtRisk], target: str) -> Event[Any]:
        data = SlaTargetData(ticket_id="t-1", number="HD-000001", target=target)
        return kind.create(source="sla", subject="t-1", time=START, data=data)

    await send(isolated, "sla", [sla(SlaBreached, "first_response")])
    first = await item_when(triage, "t-1", lambda i: i["breaches"] == 1, "first breach")
    await send(isolated, "sla", [sla(SlaAtRisk, "resolution")])
    risk = await item_when(triage, "t-1", lambda i: i["escalations"] == 2, "at risk")
    await send(isolated, "sla", [sla(SlaBreached, "resolution")])
    second = await item_when(triage, "t-1", lambda i: i["breaches"] == 2, "second breach")
    assert (first["tier"], first["assignee"]) == (2, "sam")
    assert (risk["tier"], risk["assignee"]) == (2, "olga")
    assert (second["tier"], second["assignee"]) == (2, "sue")

    async def three_alerts() -> list[dict[str, Any]] | None:  # written after the escalation
        found: list[dict[str, Any]] = (
            await triage.get("/v1/agents/tim/alerts", headers=auth())
        ).json()["items"]
        return found if len(found) >= 3 else None

    alerts = await wait_for(three_alerts, what="tim alerted three times")
    bystander = (await triage.get("/v1/agents/zed/alerts", headers=auth())).json()["items"]
    # one moment for all three (the test's clock stands still): their order is not the point
    triggers = sorted(a["what"].split(")")[0] for a in alerts)
    assert triggers == [
        "escalated (sla.at_risk",
        "escalated (sla.breached",
        "escalated (sla.breached",
    ]
    assert bystander == []
    async with TopicReader(isolated.infra.kafka, isolated.topic("triage")) as reader:
        await reader.read_until(lambda rs: sum(b"ticket.escalated" in r.value for r in rs) >= 3)
    escalated = reader.distinct_events(b"ticket.escalated")
    assert [(e.data.trigger, e.data.to_tier, e.data.assignee) for e in escalated] == [
        ("sla.breached", 2, "sam"),
        ("sla.at_risk", 2, "olga"),
        ("sla.breached", 2, "sue"),
    ]
    assert escalated[0].data.notified == ["olga", "sam", "sue", "tim"]
    assert all(e.data.automatic for e in escalated)


async def test_without_a_configured_on_call_agent_the_one_marked_on_call_takes_it(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    await add_agents(
        triage,
        {"id": "ida", "tier": 1, "queues": ["operations"]},
        {"id": "ned", "tier": 3, "queues": ["operations"], "on_call": True},
        {"id": "ola", "tier": 3, "queues": ["operations"]},
    )
    await send(isolated, "intake", [created(1, "Database crashed")])
    await item_when(triage, "t-1", lambda i: i["assignee"] == "ida", "assigned")
    risk = SlaAtRisk.create(
        source="sla",
        subject="t-1",
        time=START,
        data=SlaTargetData(ticket_id="t-1", target="resolution", reason="trend"),
    )
    await send(isolated, "sla", [risk])
    item = await item_when(triage, "t-1", lambda i: i["escalations"] == 1, "escalated")
    assert (item["tier"], item["assignee"]) == (1, "ned")


async def test_an_agent_escalates_with_symptoms_and_corrects_the_reading(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    await add_agents(
        triage,
        {"id": "tia", "tier": 1, "queues": ["general-questions"]},
        {"id": "dev", "tier": 3, "queues": ["general-questions"]},
    )
    await send(isolated, "intake", [created(1, "How do I rotate the API keys?")])
    item = await item_when(triage, "t-1", lambda i: i["assignee"] == "tia", "assigned")
    assert (item["type"], item["priority"]) == ("consultation", "lowest")
    corrected = await triage.post(
        "/v1/work-items/t-1/classify",
        json={"type": "incident", "impact": "high", "urgency": "high", "reason": "keys leaked"},
        headers=auth(sub="tia"),
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["priority"] == "highest"
    assert corrected.json()["corrections"][0]["changed"]["type"] == ["consultation", "incident"]
    no_symptoms = await triage.post(
        "/v1/work-items/t-1/escalate", json={"reason": "needs a developer"}, headers=auth()
    )
    up = await triage.post(
        "/v1/work-items/t-1/escalate",
        json={"reason": "needs a developer", "symptoms": "HTTP 500 on /keys", "tried": ["restart"]},
        headers=auth(sub="tia"),
    )
    again = await triage.post(
        "/v1/work-items/t-1/escalate",
        json={"reason": "more", "symptoms": "still 500"},
        headers=auth(sub="tia"),
    )
    assert no_symptoms.status_code == 422
    assert (up.json()["tier"], up.json()["assignee"]) == (2, None)  # nobody at tier 2
    assert again.json()["tier"] == 3 and again.json()["assignee"] == "dev"
    async with TopicReader(isolated.infra.kafka, isolated.topic("triage")) as reader:
        await reader.read_until(lambda rs: sum(b"ticket.triaged" in r.value for r in rs) >= 2)
    triaged = [parse_event(r.value) for r in reader.records if b"ticket.triaged" in r.value]
    assert triaged[-1].data.priority == "highest" and triaged[-1].data.corrected_by is not None


async def test_the_worklist_orders_by_priority_then_sla_due_time_then_age(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    await send(
        isolated,
        "intake",
        [
            created(1, "Old normal one"),
            created(2, "Newer normal one, due first"),
            created(3, "Urgent one", impact="high", urgency="high"),
            created(4, "Newest normal one"),
        ],
    )
    for n in range(1, 5):
        await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}")
    due = {2: START + timedelta(hours=1), 4: START + timedelta(hours=3)}
    await send(
        isolated,
        "sla",
        [
            SlaClockStarted.create(
                source="sla",
                subject=f"t-{n}",
                time=START,
                data=SlaClockStartedData(
                    ticket_id=f"t-{n}",
                    policy_id="p",
                    priority="normal",
                    calendar_id="c",
                    targets=[SlaTarget(name="resolution", target_seconds=3600, due_at=at)],
                ),
            )
            for n, at in due.items()
        ],
    )
    for n in due:
        await item_when(triage, f"t-{n}", lambda i: i["sla_due_at"] is not None, "due learnt")
    listed = await triage.get("/v1/queues/operations/work-items", headers=auth())  # incidents
    assert [i["ticket_id"] for i in listed.json()["items"]] == ["t-3", "t-2", "t-4", "t-1"]


async def test_a_re_planned_or_paused_clock_moves_its_ticket_in_the_worklist(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    await send(isolated, "intake", [created(n, f"Normal one {n}") for n in (1, 2, 3)])
    for n in (1, 2, 3):
        await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}")

    def planned(n: int, at: datetime | None) -> SlaClockStartedData:
        target = SlaTarget(name="resolution", target_seconds=3600, due_at=at)
        return SlaClockStartedData(
            ticket_id=f"t-{n}", policy_id="p", priority="normal", calendar_id="c", targets=[target]
        )

    hour = timedelta(hours=1)
    started = [
        SlaClockStarted.create(source="sla", subject=f"t-{n}", time=START, data=planned(n, at))
        for n, at in ((1, START + 3 * hour), (2, START + 2 * hour), (3, START + 4 * hour))
    ]
    await send(isolated, "sla", started)
    await item_when(triage, "t-3", lambda i: i["sla_due_at"] is not None, "due learnt")

    async def order(what: str, expected: list[str]) -> None:
        async def probe() -> list[str] | None:
            listed = await triage.get("/v1/queues/operations/work-items", headers=auth())
            ids = [i["ticket_id"] for i in listed.json()["items"]]
            return ids if ids == expected else None

        await wait_for(probe, what=what)

    await order("by due time", ["t-2", "t-1", "t-3"])
    sooner = planned(3, START + hour / 2)  # a higher priority: due in half an hour
    replanned = SlaClockReplanned.create(source="sla", subject="t-3", time=START, data=sooner)
    await send(isolated, "sla", [replanned])
    await order("t-3 re-planned first", ["t-3", "t-2", "t-1"])
    waiting = SlaClockPauseData(ticket_id="t-3", reason="waiting", targets=planned(3, None).targets)
    await send(
        isolated,
        "sla",
        [SlaClockPaused.create(source="sla", subject="t-3", time=START, data=waiting)],
    )
    await order("t-3 paused last", ["t-2", "t-1", "t-3"])
    answered = SlaClockPauseData(ticket_id="t-3", reason="answered", targets=sooner.targets)
    resumed = SlaClockResumed.create(source="sla", subject="t-3", time=START, data=answered)
    await send(isolated, "sla", [resumed])
    await order("t-3 resumed first", ["t-3", "t-2", "t-1"])


async def test_resolved_tickets_close_on_confirmation_or_after_the_quiet_period(
    triage: httpx.AsyncClient, isolated: Isolation, clock: FixedClock
) -> None:
    await send(isolated, "intake", [created(1, "Password reset"), created(2, "VPN slow")])
    for n in (1, 2):
        await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}")
        resolved = await triage.post(
            f"/v1/work-items/t-{n}/resolve",
            json={
                "resolution": "Fixed in 7.2",
                "resolution_code": "fix_pending",
                "fix_release": "7.2",
                "fix_expected_on": "2026-12-01",
                "cause": "a timeout too short",
                "failed_attempts": ["restart"],
            },
            headers=auth(),
        )
        assert resolved.status_code == 200, resolved.text
    confirmation = TicketFeedbackReceived.create(
        source="intake",
        subject="t-1",
        time=START,
        data=TicketFeedbackReceivedData(
            ticket_id="t-1",
            number="HD-000001",
            rating=5,
            author=Person(email="ann@acme.example"),
            confirms_resolution=True,
        ),
    )
    await send(isolated, "intake", [confirmation])
    one = await item_when(triage, "t-1", lambda i: i["status"] == "closed", "confirmed close")
    clock.advance(timedelta(hours=23))
    still = await triage.get("/v1/work-items/t-2", headers=auth())
    clock.advance(timedelta(hours=2))
    two = await item_when(triage, "t-2", lambda i: i["status"] == "closed", "quiet close")
    assert still.json()["status"] == "resolved"
    assert one["history"][-1]["reason"] == "confirmed by the customer"
    assert "quiet period" in two["history"][-1]["reason"]
    assert two["resolution"]["fix_expected_on"] == "2026-12-01"
    async with TopicReader(isolated.infra.kafka, isolated.topic("triage")) as reader:
        await reader.read_until(lambda rs: sum(b"ticket.closed" in r.value for r in rs) >= 2)
    resolved_events = [
        parse_event(r.value) for r in reader.records if b"ticket.resolved" in r.value
    ]
    assert resolved_events[0].data.fix_release == "7.2"
    assert resolved_events[0].data.failed_attempts == ["restart"]


async def test_an_agents_open_work_is_listed_in_worklist_order_a_page_at_a_time(
    triage: httpx.AsyncClient, isolated: Isolation
) -> None:
    queue = {"key": "general-questions", "name": "General", "skills": ["accounts"]}
    assert (await triage.put("/v1/queues/general-questions", json=queue, headers=ADMIN)).is_success
    team = [{"id": "amy", "tier": 1, "capacity": 3}, {"id": "ben", "tier": 1, "capacity": 3}]
    await add_agents(
        triage,
        *[{"queues": ["general-questions"], "skills": ["accounts"]} | agent for agent in team],
    )
    await send(isolated, "intake", [created(n, "Question about invoices") for n in range(6)])
    items = [
        await item_when(triage, f"t-{n}", lambda i: i["assignee"], f"ticket {n} assigned")
        for n in range(6)
    ]
    amys = [i for i in items if i["assignee"] == "amy"]
    assert len(amys) == 3
    whole = await triage.get("/v1/work-items", params={"assignee": "amy"}, headers=auth())
    order = [i["ticket_id"] for i in whole.json()["items"]]
    assert sorted(order) == sorted(i["ticket_id"] for i in amys)
    assert await pages(triage, "/v1/work-items", 1, "ticket_id", auth(), assignee="amy") == [
        [ticket] for ticket in order
    ]
    done = order[0]
    resolved = await triage.post(
        f"/v1/work-items/{done}/resolve", json={"resolution": "Answered"}, headers=auth()
    )
    assert resolved.status_code == 200
    left = await triage.get("/v1/work-items?assignee=amy", headers=auth())
    assert [i["ticket_id"] for i in left.json()["items"]] == order[1:]
    assert (await triage.get("/v1/work-items", headers=auth())).status_code == 422
    customer = auth(["customer"], org="acme")
    assert (await triage.get("/v1/work-items?assignee=amy", headers=customer)).status_code == 403
