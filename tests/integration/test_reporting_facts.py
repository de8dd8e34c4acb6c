"""Reporting's fact documents on the real Kafka and FerretDB: a ticket's events from three
topics make one fact document, written by their consumers at once; the same events delivered
again change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.reporting import service
from services.reporting.app import ReportingSettings, create_app
from services.reporting.domain import stream_key
from services.reporting.facts import FactDocument, Position, applied
from services.reporting.rebuild import rebuild
from services.reporting.service import ReportingDeps, apply
from services.reporting.store import MongoFactStore, MongoRecordStore, MongoReportingStore
from shared.bus import Delivery
from shared.clock import FixedClock
from shared.events import Event
from shared.events.common import AuthorType, Channel, Person, Visibility
from shared.events.intake import (
    TicketFeedbackReceived,
    TicketFeedbackReceivedData,
    TicketMessageAdded,
    TicketMessageAddedData,
)
from shared.events.problems import (
    AdvisoryData,
    AdvisoryPublished,
    DeficiencyReportData,
    DeficiencyReportOpened,
    DeficiencyReportUpdated,
    ProblemClosed,
    ProblemCreated,
    ProblemData,
    ProblemIncidentLinked,
    ProblemResolved,
    ReleaseData,
    ReleasePublished,
)
from shared.events.sla import (
    SlaBreached,
    SlaClockStarted,
    SlaClockStartedData,
    SlaMet,
    SlaTargetData,
    SlaTargetStopped,
    SlaTargetStoppedData,
)
from shared.events.triage import (
    TicketAssigned,
    TicketAssignedData,
    TicketClosed,
    TicketClosedData,
    TicketEscalated,
    TicketEscalatedData,
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
    TicketTriaged,
    TicketTriagedData,
)
from tests.helpers import Isolation, auth, in_process, wait_for
from tests.integration.test_triage_work import created, send

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ONE = {"ticket_id": "t-1", "number": "HD-000001"}


@pytest.fixture
async def reporting(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(ReportingSettings(), FixedClock(T0))) as client:
        yield client


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def history() -> dict[str, list[Event[Any]]]:
    agent = Person(email="bo@helpdesk.example")
    triaged = TicketTriagedData(
        **ONE,
        type="incident",
        impact="high",
        urgency="high",
        priority="high",
        service_level="gold",
        queue="operations",
        tier=1,
        status="open",
        organization_id="acme",
        entitled=True,
    )
    reply = TicketMessageAddedData(
        **ONE,
        message_id="m-1",
        author_type=AuthorType.AGENT,
        author=agent,
        visibility=Visibility.PUBLIC,
        channel=Channel.EMAIL,
    )
    started = SlaClockStartedData(
        **ONE, policy_id="gold/high", priority="high", calendar_id="office", targets=[]
    )

    def target(name: str) -> SlaTargetData:
        return SlaTargetData(**ONE, target=name)

    def stopped(name: str, minutes: float, outcome: str, used: int) -> Event[Any]:
        data = SlaTargetStoppedData(**ONE, target=name, outcome=outcome, elapsed_seconds=used)
        return SlaTargetStopped.create(source="sla", subject="t-1", time=at(minutes), data=data)

    return {
        "intake": [
            created(1, "VPN drops", created_at=T0, site="hq"),
            TicketMessageAdded.create(source="intake", subject="t-1", time=at(20), data=reply),
            TicketFeedbackReceived.create(
                source="intake",
                subject="t-1",
                time=at(300),
                data=TicketFeedbackReceivedData(**ONE, rating=4, comment="ok", author=agent),
            ),
        ],
        "triage": [
            TicketTriaged.create(source="triage", subject="t-1", time=at(1), data=triaged),
            TicketAssigned.create(
                source="triage",
                subject="t-1",
                time=at(2),
                data=TicketAssignedData(**ONE, assignee="bo", queue="operations", tier=1),
            ),
            TicketEscalated.create(
                source="triage",
                subject="t-1",
                time=at(30),
                data=TicketEscalatedData(
                    **ONE, from_tier=1, to_tier=2, queue="operations", automatic=False, reason="x"
                ),
            ),
            TicketResolved.create(
                source="triage",
                subject="t-1",
                time=at(60),
                data=TicketResolvedData(**ONE, resolution="MTU"),
            ),
            TicketReopened.create(
                source="triage",
                subject="t-1",
                time=at(90),
                data=TicketReopenedData(**ONE, reason="customer replied", reopen_count=1),
            ),
            TicketResolved.create(
                source="triage",
                subject="t-1",
                time=at(120),
                data=TicketResolvedData(**ONE, resolution="MTU 1400"),
            ),
            TicketClosed.create(
                source="triage",
                subject="t-1",
                time=at(240),
                data=TicketClosedData(**ONE, reason="confirmed"),
            ),
        ],
        "sla": [
            SlaClockStarted.create(source="sla", subject="t-1", time=at(1), data=started),
            SlaMet.create(source="sla", subject="t-1", time=at(20), data=target("first_response")),
            SlaBreached.create(
                source="sla", subject="t-1", time=at(100), data=target("resolution")
            ),
            SlaMet.create(source="sla", subject="t-1", time=at(120), data=target("resolution")),
            stopped("first_response", 20, "met", 1200),
            stopped("resolution", 120, "missed", 5400),
        ],
    }


async def test_a_tickets_events_from_three_topics_make_one_fact_document_once(
    reporting: httpx.AsyncClient, isolated: Isolation
) -> None:
    events = history()
    for producer, sent in events.items():
        await send(isolated, producer, sent)

    async def complete() -> dict[str, Any] | None:
        response = await reporting.get("/v1/facts/t-1", headers=auth())
        body: dict[str, Any] = response.json()
        done = response.status_code == 200 and body.get("closed_at") and body.get("feedback")
        stopped = "resolution" in (body.get("business_seconds") or {})
        return body if done and stopped and body.get("sla", {}).get("resolution") else None

    first = await wait_for(complete, what="the whole fact document")
    for producer, sent in events.items():  # delivered again, then one new event on each topic
        await send(isolated, producer, sent)
    agent = Person(email="bo@helpdesk.example")
    more = TicketFeedbackReceivedData(**ONE, rating=5, comment="better", author=agent)
    escalated = TicketEscalatedData(
        **ONE, from_tier=2, to_tier=3, queue="operations", automatic=True, reason="breach"
    )
    await send(
        isolated,
        "intake",
        [TicketFeedbackReceived.create(source="intake", subject="t-1", time=at(400), data=more)],
    )
    await send(
        isolated,
        "triage",
        [TicketEscalated.create(source="triage", subject="t-1", time=at(401), data=escalated)],
    )
    update = SlaTargetData(**ONE, target="next_update")
    await send(
        isolated,
        "sla",
        [SlaBreached.create(source="sla", subject="t-1", time=at(402), data=update)],
    )

    async def later() -> dict[str, Any] | None:  # each topic's new event comes after its repeats
        body: dict[str, Any] = (await reporting.get("/v1/facts/t-1", headers=auth())).json()
        done = body["feedback"]["rating"] == 5 and body["max_tier"] == 3
        return body if done and "next_update" in body["sla"] else None

    again = await wait_for(later, what="the new events after the repeats")
    assert (again["escalations"], again["resolutions"], again["reopen_count"]) == (2, 2, 1)
    unchanged = {
        k: v
        for k, v in again.items()
        if k not in ("feedback", "tier", "max_tier", "escalations", "sla")
    }
    assert unchanged == {k: v for k, v in first.items() if k in unchanged}
    assert (first["channel"], first["organization_id"], first["site"]) == ("web", "acme", "hq")
    assert (first["priority"], first["queue"], first["assignee"]) == ("high", "operations", "bo")
    assert (first["tier"], first["max_tier"], first["escalations"]) == (2, 2, 1)
    assert (first["reopen_count"], first["resolutions"]) == (1, 2)
    assert first["first_contact_resolution"] is False
    assert first["sla"] == {"first_response": "met", "resolution": "breached"}
    assert first["feedback"]["rating"] == 4
    assert (first["time_to_first_response"], first["time_to_resolve"]) == (1200.0, 7200.0)
    assert first["time_to_close"] == 14400.0
    assert first["business_seconds"] == {"first_response": 1200, "resolution": 5400}


async def test_reports_for_a_scripted_period_in_json_and_csv(
    reporting: httpx.AsyncClient, isolated: Isolation
) -> None:
    events = history()
    two = {"ticket_id": "t-2", "number": "HD-000002"}
    events["intake"] += [
        created(2, "Password reset", channel="phone", created_at=at(10)),
        created(3, "Printer jam", channel="email", created_at=at(20)),
    ]
    events["triage"] += [
        TicketResolved.create(
            source="triage",
            subject="t-2",
            time=at(15),
            data=TicketResolvedData(**two, resolution="reset", first_contact=True),
        ),
        TicketClosed.create(
            source="triage", subject="t-2", time=at(30), data=TicketClosedData(**two, reason="ok")
        ),
    ]
    for producer, sent in events.items():
        await send(isolated, producer, sent)

    async def ready() -> bool:
        fact = await reporting.get("/v1/facts/t-1", headers=auth())
        others = [await reporting.get(f"/v1/facts/t-{n}", headers=auth()) for n in (2, 3)]
        done = fact.status_code == 200 and "resolution" in fact.json().get("sla", {})
        done = done and fact.json().get("feedback") is not None and "closed_at" in fact.json()
        done = done and "resolution" in (fact.json().get("business_seconds") or {})
        return (
            done and all(o.status_code == 200 for o in others) and "closed_at" in others[0].json()
        )

    await wait_for(ready, what="the three tickets' facts")
    period = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
    calls = (
        await reporting.get(
            "/v1/reports/trouble-calls", params={**period, "group_by": "channel"}, headers=auth()
        )
    ).json()
    sla = (await reporting.get("/v1/reports/sla-compliance", params=period, headers=auth())).json()
    solved = (await reporting.get("/v1/reports/resolution", params=period, headers=auth())).json()
    csv = await reporting.get(
        "/v1/reports/trouble-calls", params={**period, "format": "csv"}, headers=auth()
    )
    people = (await reporting.get("/v1/reports/agents", params=period, headers=auth())).json()
    levels = (
        await reporting.get("/v1/reports/service-levels", params=period, headers=auth())
    ).json()
    catalogue = (await reporting.get("/v1/reports", headers=auth())).json()["items"]
    wrong = await reporting.get(
        "/v1/reports/trouble-calls", params={**period, "group_by": "colour"}, headers=auth()
    )
    unknown = await reporting.get("/v1/reports/nothing", params=period, headers=auth())
    assert calls["rows"] == [
        {"group": "email", "opened": 1, "closed": 0, "backlog": 1},
        {"group": "phone", "opened": 1, "closed": 1, "backlog": 0},
        {"group": "web", "opened": 1, "closed": 1, "backlog": 0},
    ]
    assert sla["rows"] == [
        {"group": "all", "target": "first_response", "met": 1, "breached": 0, "met_share": 1.0},
        {"group": "all", "target": "resolution", "met": 0, "breached": 1, "met_share": 0.0},
    ]
    (row,) = solved["rows"]
    assert (row["resolved"], row["first_contact_rate"], row["reopen_rate"]) == (2, 0.5, 0.5)
    assert row["resolve_hours_median"] == 1.042  # the median of 2 h and 5 min: 62.5 min
    assert (row["mtta_business_hours"], row["mttr_business_hours"]) == (0.333, 1.5)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == (
        'attachment; filename="trouble-calls_2026-11-02_2026-11-03.csv"'
    )
    assert csv.text == "group,opened,closed,backlog\r\nall,3,2,1\r\n"
    assert people["rows"] == [
        {
            "group": "bo",
            "resolved": 1,
            "resolve_hours_mean": 2.0,
            "reopened": 1,
            "escalated": 1,
            "rating_mean": 4.0,
            "ratings": 1,
        }
    ]
    assert levels["rows"] == [
        {
            "group": "-",
            "opened": 2,
            "resolved": 1,
            "sla_met_share": None,
            "sla_breaches": 0,
            "rating_mean": None,
        },
        {
            "group": "gold",
            "opened": 1,
            "resolved": 1,
            "sla_met_share": 0.5,
            "sla_breaches": 1,
            "rating_mean": 4.0,
        },
    ]
    assert {r["name"] for r in catalogue} == {
        "trouble-calls",
        "sla-compliance",
        "resolution",
        "agents",
        "service-levels",
        "deficiency-reports",
        "advisories",
        "releases",
        "lessons-learned",
        "problem-fixes",
        "site-status",
    }
    assert (wrong.status_code, unknown.status_code) == (422, 404)


async def test_a_rebuild_from_offset_zero_equals_the_live_read_models(
    reporting: httpx.AsyncClient, isolated: Isolation
) -> None:
    events = history()
    events["intake"].append(created(2, "Printer jam", channel="email", created_at=at(20)))
    opened = DeficiencyReportData(report_id="DR-1", title="Crash", severity="high")
    events["problems"] = [
        DeficiencyReportOpened.create(source="problems", subject="DR-1", time=at(5), data=opened)
    ]
    for producer, sent in events.items():
        await send(isolated, producer, sent)

    async def settled() -> bool:
        summary = (await reporting.get("/v1/summary", headers=auth())).json()
        fact = (await reporting.get("/v1/facts/t-1", headers=auth())).json()
        counted = summary["tickets_created"] == 2 and summary["sla_met"] == 2
        period = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
        drs = await reporting.get("/v1/reports/deficiency-reports", params=period, headers=auth())
        recorded = bool(drs.json()["rows"])
        return counted and recorded and fact.get("feedback") is not None and "closed_at" in fact

    await wait_for(settled, what="the live read models complete")
    done = await rebuild(ReportingSettings(), f"{isolated.db_prefix}reporting_rebuilt")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    try:
        live = await _read_models(client[f"{isolated.db_prefix}reporting"])
        rebuilt = await _read_models(client[f"{isolated.db_prefix}reporting_rebuilt"])
    finally:
        await client.close()
    assert done.records == sum(len(sent) for sent in events.values()) and done.skipped == 0
    assert set(live) == set(rebuilt)
    assert {n.split("_")[0] for n in live} == {"counters", "facts", "records"}
    assert live == rebuilt


async def _read_models(db: Any) -> dict[str, list[dict[str, Any]]]:
    kept = ("counters", "facts", "records_")
    names = [n for n in await db.list_collection_names() if n.startswith(kept)]
    return {n: await db[n].find().sort("_id", 1).to_list(None) for n in sorted(names)}


async def test_problem_management_reports_for_a_scripted_period(
    reporting: httpx.AsyncClient, isolated: Isolation
) -> None:
    events = history()  # t-1: web, acme at hq, incident, rated 4, reopened once
    two = {"ticket_id": "t-2", "number": "HD-000002"}
    events["intake"] += [
        created(2, "VPN drops again", created_at=at(600), site="hq"),
        created(3, "Billing slow", created_at=at(30), organization_id="globex"),
    ]
    triaged_two = TicketTriagedData(
        **two,
        type="incident",
        impact="high",
        urgency="high",
        priority="highest",
        queue="operations",
        tier=1,
        status="open",
        organization_id="acme",
        entitled=True,
    )
    events["triage"].append(
        TicketTriaged.create(source="triage", subject="t-2", time=at(601), data=triaged_two)
    )

    def problem(kind: Any, minutes: float, **fields: Any) -> Event[Any]:
        data = ProblemData(problem_id="PRB-000001", title="VPN drops", **fields)
        return kind.create(source="problems", subject="PRB-000001", time=at(minutes), data=data)

    def report(kind: Any, minutes: float, status: str, severity: str) -> Event[Any]:
        data = DeficiencyReportData(
            report_id=f"DR-{severity}", title="x", severity=severity, status=status
        )
        return kind.create(source="problems", subject=data.report_id, time=at(minutes), data=data)

    maintenance = AdvisoryData(
        advisory_id="ADV-000001",
        title="VPN gateway upgrade",
        kind="maintenance",
        organization_ids=["acme"],
        starts_at=at(3000),
        ends_at=at(3060),
    )
    release = ReleaseData(
        release_id="4.3", version="4.3", product="VPN client", fixed_reports=["DR-high"]
    )
    events["problems"] = [
        problem(ProblemCreated, 70, ticket_ids=["t-1"]),
        problem(ProblemIncidentLinked, 601, ticket_ids=["t-1", "t-2"], ticket_id="t-2"),
        problem(ProblemResolved, 400, ticket_ids=["t-1", "t-2"], fix="client 4.3"),
        problem(
            ProblemClosed,
            700,
            ticket_ids=["t-1", "t-2"],
            root_cause="MTU",
            fix="client 4.3",
            lessons_learned="test sleep and resume",
        ),
        report(DeficiencyReportOpened, 80, "open", "high"),
        report(DeficiencyReportUpdated, 390, "released", "high"),
        report(DeficiencyReportOpened, -20 * 24 * 60, "open", "low"),
        AdvisoryPublished.create(
            source="problems", subject="ADV-000001", time=at(500), data=maintenance
        ),
        ReleasePublished.create(source="problems", subject="4.3", time=at(395), data=release),
    ]
    for producer, sent in events.items():
        await send(isolated, producer, sent)

    async def ready() -> bool:
        period = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
        got = await reporting.get("/v1/reports/lessons-learned", params=period, headers=auth())
        fact = await reporting.get("/v1/facts/t-2", headers=auth())
        reports = await reporting.get(
            "/v1/reports/deficiency-reports", params=period, headers=auth()
        )
        advisories = await reporting.get("/v1/reports/advisories", params=period, headers=auth())
        one = await reporting.get("/v1/facts/t-1", headers=auth())
        return (
            bool(got.json()["rows"])
            and fact.json().get("type") == "incident"
            and sum(r["opened"] + r["open"] for r in reports.json()["rows"]) >= 2
            and bool(advisories.json()["rows"])
            and one.json().get("feedback") is not None
            and "closed_at" in one.json()
        )

    await wait_for(ready, what="the problem records and facts")
    period = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}

    async def rows(name: str) -> list[dict[str, Any]]:
        body = (await reporting.get(f"/v1/reports/{name}", params=period, headers=auth())).json()
        found: list[dict[str, Any]] = body["rows"]
        return found

    assert await rows("deficiency-reports") == [
        {
            "group": "high",
            "opened": 1,
            "closed": 1,
            "open": 0,
            "open_under_7_days": 0,
            "open_7_to_30_days": 0,
            "open_over_30_days": 0,
        },
        {
            "group": "low",
            "opened": 0,
            "closed": 0,
            "open": 1,
            "open_under_7_days": 0,
            "open_7_to_30_days": 1,
            "open_over_30_days": 0,
        },
    ]
    (notice,) = await rows("advisories")
    assert (notice["advisory_id"], notice["audience"], notice["in_force_at_end"]) == (
        "ADV-000001",
        "acme",
        True,
    )
    (current,) = await rows("releases")
    assert (current["version"], current["current"], current["fixed_reports"]) == ("4.3", True, 1)
    (lesson,) = await rows("lessons-learned")
    assert (lesson["lessons_learned"], lesson["incidents"]) == ("test sleep and resume", 2)
    assert await rows("problem-fixes") == [
        {
            "group": "PRB-000001",
            "fix": "before",
            "incidents": 1,
            "rating_mean": 4.0,
            "reopen_rate": 1.0,
        },
        {
            "group": "PRB-000001",
            "fix": "after",
            "incidents": 1,
            "rating_mean": None,
            "reopen_rate": 0.0,
        },
    ]
    status = {(r["group"], r["site"]): r for r in await rows("site-status")}
    assert status[("acme", "hq")]["open_incidents"] == 1  # t-2; t-1 is closed
    assert status[("acme", "hq")]["worst_priority"] == "highest"
    assert status[("acme", "hq")]["outages"] == 1
    assert status[("acme", "hq")]["notices_in_force"] == "ADV-000001"
    assert status[("globex", "-")]["open_incidents"] == 0  # t-3 was never said to be an incident


async def test_consumers_of_three_topics_and_a_second_replica_writing_at_once_lose_nothing(
    isolated: Isolation,
) -> None:
    """Each topic's consumer writes the ticket's one fact document while the others do; a second
    replica replays every partition at the same time (a rebalance handing partitions over)."""
    events = history()
    opened = DeficiencyReportData(report_id="DR-1", title="Crash", severity="high")
    updated = opened.model_copy(update={"status": "released"})
    events["problems"] = [
        DeficiencyReportOpened.create(source="problems", subject="DR-1", time=at(5), data=opened),
        DeficiencyReportUpdated.create(source="problems", subject="DR-1", time=at(9), data=updated),
    ]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    db = client[f"{isolated.db_prefix}reporting"]
    deps = ReportingDeps(
        store=MongoReportingStore(db),
        facts=MongoFactStore(db),
        records=MongoRecordStore(db),
        clock=FixedClock(T0),
    )

    async def consumer(producer: str) -> None:
        for offset, event in enumerate(events[producer]):
            await apply(event, Delivery(isolated.topic(producer), 0, offset), deps)

    try:
        await asyncio.gather(*(consumer(p) for _ in range(2) for p in events))
        fact = await service.fact("t-1", deps)
        stored = await deps.facts.get("t-1")
        record = await deps.records.get("deficiency_reports", "DR-1")
    finally:
        await client.close()
    expected, changes = FactDocument(), 0
    for producer in ("intake", "triage", "sla"):
        for offset, event in enumerate(events[producer]):
            position = Position(stream_key(isolated.topic(producer), 0), offset)
            after = applied(expected, event, position)
            expected, changes = (after, changes + 1) if after else (expected, changes)
    assert fact == {"ticket_id": "t-1", **expected.fact}
    assert stored is not None and stored.revision == changes - 1  # each change written once
    assert record is not None and record.revision == 1  # opened, then updated: once each
    assert (record.record["status"], len(record.record["events"])) == ("released", 2)
