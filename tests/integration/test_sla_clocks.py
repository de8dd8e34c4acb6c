"""SLA clocks on real Kafka and FerretDB with an injected clock: started by ticket.triaged,
paused while waiting for the customer, stopped by the first public reply and the resolution,
warnings and breaches announced once per target by the scheduler, also with two replicas and
after a restart; and the scheduler's timer buckets, lease and the watched set on the store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.sla.app import SlaSettings, create_app
from services.sla.service import SlaDeps
from services.sla.service.clocks import on_event
from services.sla.service.predictor import predict
from services.sla.service.scheduler import fire, tick
from services.sla.store import (
    CLOCKS,
    TIMERS,
    MongoClockStore,
    MongoInputStore,
    MongoSetupStore,
    MongoTimerStore,
    second_of,
)
from shared.cache import Expiring
from shared.clock import FixedClock
from shared.db import Database
from shared.events import Event, parse_event
from shared.events.common import (
    AuthorType,
    Channel,
    Level,
    Person,
    Priority,
    ServiceLevel,
    TicketStatus,
    TicketType,
    Visibility,
)
from shared.events.intake import TicketMessageAdded, TicketMessageAddedData
from shared.events.triage import (
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
    TicketStatusChanged,
    TicketStatusChangedData,
    TicketTriaged,
    TicketTriagedData,
)
from shared.outbox import OutboxRelay
from tests.helpers import Isolation, TopicReader, auth, in_process, wait_for
from tests.integration.test_triage_work import send

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


@asynccontextmanager
async def sla_service(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    env = isolated.env(HELPDESK_SLA_TICK_SECONDS="0.1", HELPDESK_SLA_SETUP_TTL_SECONDS="0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(SlaSettings(), clock)) as client:
        yield client


def triaged(n: int, level: ServiceLevel = ServiceLevel.PLATINUM, **fields: Any) -> Event[Any]:
    data = TicketTriagedData(
        ticket_id=f"t-{n}",
        number=f"HD-{n:06d}",
        type=TicketType.INCIDENT,
        impact=Level.HIGH,
        urgency=Level.HIGH,
        priority=fields.pop("priority", Priority.HIGHEST),
        service_level=level,
        queue="operations",
        tier=1,
        status=TicketStatus.OPEN,
        organization_id=fields.pop("organization_id", "acme"),
        entitled=True,
    )
    return TicketTriaged.create(
        source="triage", subject=f"t-{n}", time=fields.get("at", START), data=data
    )


def status(n: int, was: TicketStatus, now: TicketStatus, at: datetime) -> Event[Any]:
    data = TicketStatusChangedData(
        ticket_id=f"t-{n}", number=f"HD-{n:06d}", from_status=was, to_status=now
    )
    return TicketStatusChanged.create(source="triage", subject=f"t-{n}", time=at, data=data)


def agent_reply(n: int, at: datetime, visibility: Visibility = Visibility.PUBLIC) -> Event[Any]:
    data = TicketMessageAddedData(
        ticket_id=f"t-{n}",
        number=f"HD-{n:06d}",
        message_id=f"m-{n}-{at.timestamp()}",
        author_type=AuthorType.AGENT,
        author=Person(email="agent@helpdesk.example"),
        visibility=visibility,
        channel=Channel.EMAIL,
    )
    return TicketMessageAdded.create(source="intake", subject=f"t-{n}", time=at, data=data)


async def clock_when(sla: httpx.AsyncClient, n: int, check: Any, what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await sla.get(f"/v1/sla/clocks/t-{n}", headers=auth())
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and check(body) else None

    return await wait_for(probe, within=30, what=what)


def target(clock: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in clock["targets"] if t["name"] == name)


async def sla_events(isolated: Isolation, enough: Any) -> list[Any]:
    """The sla topic's events, each event id once: delivery is at least once (a relay may
    publish an event again after a crash or a takeover), and consumers skip repeated ids."""

    def distinct(records: list[Any]) -> list[Any]:
        events = [parse_event(r.value) for r in records]
        return list({e.id: e for e in events}.values())

    async with TopicReader(isolated.infra.kafka, isolated.topic("sla")) as reader:
        await reader.read_until(lambda rs: enough(distinct(rs)))
    return distinct(reader.records)


async def test_a_clock_pauses_for_the_customer_and_stops_at_the_first_public_reply(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "triage", [triaged(1)])
        started = await clock_when(sla, 1, lambda c: True, "clock started")
        await send(
            isolated,
            "triage",
            [
                status(
                    1,
                    TicketStatus.ASSIGNED,
                    TicketStatus.PENDING_CUSTOMER,
                    START + timedelta(minutes=5),
                )
            ],
        )
        await clock_when(sla, 1, lambda c: c["state"] == "paused", "paused")
        clock.advance(timedelta(hours=2))  # waiting for the customer: none of it counts
        paused = await clock_when(sla, 1, lambda c: True, "still paused")
        await send(
            isolated,
            "triage",
            [
                status(
                    1,
                    TicketStatus.PENDING_CUSTOMER,
                    TicketStatus.IN_PROGRESS,
                    START + timedelta(hours=2, minutes=5),
                )
            ],
        )
        await clock_when(sla, 1, lambda c: c["state"] == "running", "resumed")
        await send(
            isolated,
            "intake",
            [agent_reply(1, START + timedelta(hours=2, minutes=8), Visibility.INTERNAL)],
        )
        await send(isolated, "intake", [agent_reply(1, START + timedelta(hours=2, minutes=9))])
        replied = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["state"] == "stopped", "first response"
        )
    assert target(started, "first_response")["due_at"].startswith("2026-11-02T09:15:00")
    assert target(paused, "first_response")["elapsed_seconds"] == 300  # 09:00 to 09:05
    assert len(paused["pauses"]) == 1 and paused["pauses"][0]["end"] is None
    first = target(replied, "first_response")
    assert (first["outcome"], first["elapsed_seconds"]) == (
        "met",
        300 + 240,
    )  # the internal note did not count
    assert target(replied, "next_update")["state"] == "running"
    events = await sla_events(isolated, lambda es: any(e.type == "sla.target_stopped" for e in es))
    assert [e.type for e in events] == [
        "sla.clock_started",
        "sla.clock_paused",
        "sla.clock_resumed",
        "sla.met",
        "sla.target_stopped",
    ]
    assert events[-2].data.target == "first_response"
    stopped = events[-1].data  # the business time used, final: 5 min, then 4 after the pause
    assert (stopped.target, stopped.outcome, stopped.elapsed_seconds) == (
        "first_response",
        "met",
        540,
    )
    resumed = {t.name: t.due_at for t in events[2].data.targets}  # 5 min used, resumed 11:05
    assert resumed["first_response"] == START + timedelta(hours=2, minutes=15)


async def test_warnings_and_a_breach_are_announced_once_and_resolution_time_accumulates(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "triage", [triaged(1)])
        await clock_when(sla, 1, lambda c: True, "clock started")
        for minutes in (12, 14, 16, 30):  # first response: 15 min; warnings at 75% and 90%
            clock.advance(timedelta(minutes=minutes) - (clock.now() - START))
            await caught_up(sla, clock)
        breached = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["breached"], "breach"
        )
        resolved_at = START + timedelta(hours=1)
        clock.advance(resolved_at - clock.now())
        await send(isolated, "triage", [_resolved(1, resolved_at)])
        await clock_when(sla, 1, lambda c: target(c, "resolution")["state"] == "stopped", "stopped")
        clock.advance(timedelta(hours=5))
        reopened_at = clock.now()
        await send(isolated, "triage", [_reopened(1, reopened_at)])
        again = await clock_when(
            sla, 1, lambda c: target(c, "resolution")["state"] == "running", "reopened"
        )
    assert target(breached, "first_response")["remaining_seconds"] == 0
    events = await sla_events(isolated, lambda es: sum(e.type == "sla.met" for e in es) >= 1)
    announced = [(e.type, e.data.target) for e in events if e.type != "sla.clock_started"]
    assert Counter(announced) == Counter(
        {
            ("sla.warning", "first_response"): 2,
            ("sla.breached", "first_response"): 1,
            ("sla.met", "resolution"): 1,
            ("sla.target_stopped", "resolution"): 1,
            ("sla.target_stopped", "first_response"): 1,  # missed: resolved without a reply
        }
    )
    missed = next(
        e.data
        for e in events
        if e.type == "sla.target_stopped" and e.data.target == "first_response"
    )
    assert (missed.outcome, missed.elapsed_seconds) == ("missed", 3600)
    assert target(again, "resolution")["elapsed_seconds"] == 3600  # the hour before, kept
    assert target(again, "first_response")["outcome"] == "missed"


async def caught_up(sla: httpx.AsyncClient, clock: FixedClock) -> None:
    """Wait until the scheduler has read every timer up to the (injected) present."""
    wanted = clock.now().replace(microsecond=0) - timedelta(seconds=1)

    async def probe() -> bool:
        view = (await sla.get("/v1/sla/scheduler", headers=auth())).json()
        up_to = view["checked_up_to"]
        return up_to is not None and datetime.fromisoformat(up_to) >= wanted

    await wait_for(probe, within=30, what=f"the scheduler at {wanted}")


def _resolved(n: int, at: datetime) -> Event[Any]:
    data = TicketResolvedData(ticket_id=f"t-{n}", number=f"HD-{n:06d}", resolution="fixed")
    return TicketResolved.create(source="triage", subject=f"t-{n}", time=at, data=data)


def _reopened(n: int, at: datetime) -> Event[Any]:
    data = TicketReopenedData(
        ticket_id=f"t-{n}", number=f"HD-{n:06d}", reason="reply", reopen_count=1
    )
    return TicketReopened.create(source="triage", subject=f"t-{n}", time=at, data=data)


async def test_two_replicas_announce_each_breach_once_and_one_takes_over_from_the_other(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    tickets = range(1, 7)
    async with AsyncExitStack() as first_replica:
        a = await first_replica.enter_async_context(sla_service(isolated, monkeypatch, clock))

        async def holder_of_lease() -> str | None:
            holder: str | None = (await a.get("/v1/sla/scheduler", headers=auth())).json()["holder"]
            return holder

        holder = await wait_for(holder_of_lease, what="the first replica holding the lease")
        async with sla_service(isolated, monkeypatch, clock) as b:
            await send(isolated, "triage", [triaged(n) for n in tickets])
            for n in tickets:
                await clock_when(b, n, lambda c: True, f"clock {n}")
            clock.advance(timedelta(minutes=20))  # every first response (15 min) is late
            await caught_up(b, clock)
            await first_replica.aclose()  # the lease holder stops; its lease lapses
            clock.advance(timedelta(hours=5))  # and every resolution (4 h) is late too
            await caught_up(b, clock)
            taken = (await b.get("/v1/sla/scheduler", headers=auth())).json()["holder"]
    events = await sla_events(
        isolated, lambda es: sum(e.type == "sla.breached" for e in es) >= 2 * len(tickets)
    )
    breaches = Counter((e.subject, e.data.target) for e in events if e.type == "sla.breached")
    assert breaches == Counter(
        {(f"t-{n}", t): 1 for n in tickets for t in ("first_response", "resolution")}
    )
    assert taken != holder  # the second replica took the lease over


async def test_after_a_restart_overdue_clocks_are_checked_at_once(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "triage", [triaged(1)])
        await clock_when(sla, 1, lambda c: True, "clock started")
    clock.advance(timedelta(hours=1))  # down for an hour: the first response fell due meanwhile
    async with sla_service(isolated, monkeypatch, clock) as sla:
        late = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["breached"], "the overdue breach"
        )
    assert target(late, "first_response")["elapsed_seconds"] == 3600
    events = await sla_events(isolated, lambda es: any(e.type == "sla.breached" for e in es))
    assert [e.data.target for e in events if e.type == "sla.breached"] == ["first_response"]


async def test_a_customers_calendar_and_a_new_priority_re_plan_the_clock(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START)
    admin = auth(["admin"])
    polish = {
        "id": "pl-office",
        "time_zone": "Europe/Warsaw",
        "hours": {str(d): [["08:00", "16:00"]] for d in range(5)},
        "holiday_country": "PL",
    }
    async with sla_service(isolated, monkeypatch, clock) as sla:
        put = await sla.put("/v1/sla/calendars/pl-office", json=polish, headers=admin)
        bad = await sla.put(
            "/v1/sla/calendars/x1", json={"id": "x1", "time_zone": "Mars/Olympus"}, headers=admin
        )
        assigned = await sla.put(
            "/v1/sla/calendar-assignments/organization/globex",
            json={"calendar_id": "pl-office"},
            headers=admin,
        )
        assert (put.status_code, bad.status_code, assigned.status_code) == (200, 422, 200)
        gold = ServiceLevel.GOLD
        await send(isolated, "triage", [triaged(1, gold, organization_id="globex")])
        first = await clock_when(sla, 1, lambda c: True, "clock started")
        clock.advance(timedelta(minutes=20))
        higher = triaged(1, gold, organization_id="globex", priority=Priority.HIGH)
        await send(isolated, "triage", [higher])
        replanned = await clock_when(sla, 1, lambda c: c["priority"] == "high", "re-planned")
    assert (first["calendar_id"], first["policy_id"]) == ("pl-office", "gold/highest")
    resolution = target(replanned, "resolution")
    assert replanned["policy_id"] == "gold/high" and resolution["target_seconds"] == 540 * 60
    assert resolution["elapsed_seconds"] == 20 * 60  # the time used is kept
    # 09:00 UTC is 10:00 in Warsaw; 8 h of office a day: 540 min from 10:00 Monday ends
    # at 11:00 Tuesday local, 10:00 UTC
    assert resolution["due_at"].startswith("2026-11-03T10:00:00")
    events = await sla_events(isolated, lambda es: any(e.type == "sla.clock_replanned" for e in es))
    replanned = next(e for e in events if e.type == "sla.clock_replanned")
    assert (replanned.data.policy_id, replanned.data.priority) == ("gold/high", "high")
    announced = {t.name: t.due_at for t in replanned.data.targets}
    assert announced["resolution"] == datetime(2026, 11, 3, 10, tzinfo=UTC)


async def test_a_breach_seen_coming_is_announced_once_and_listed_with_its_reason(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_SLA_PREDICT_SECONDS", "0.2")
    clock = FixedClock(START + timedelta(hours=1))
    async with sla_service(isolated, monkeypatch, clock) as sla:
        # history: the operations queue took 25 min over its 15-min first responses
        await send(isolated, "triage", [triaged(n, at=START) for n in range(1, 7)])
        for n in range(1, 7):
            await clock_when(sla, n, lambda c: True, f"clock {n}")
        replies = [agent_reply(n, START + timedelta(minutes=25)) for n in range(1, 7)]
        await send(isolated, "intake", replies)
        for n in range(1, 7):
            await clock_when(sla, n, lambda c: target(c, "first_response")["outcome"], "stopped")
        await send(isolated, "triage", [triaged(9, at=clock.now())])

        async def listed() -> list[dict[str, Any]] | None:
            risky = await sla.get("/v1/sla/at-risk", headers=auth())
            found: list[dict[str, Any]] = risky.json()["items"]
            return found if any(r["ticket_id"] == "t-9" for r in found) else None

        risks = await wait_for(listed, within=30, what="the new ticket seen at risk")

        async def gauged() -> str | None:
            text = (await sla.get("/metrics")).text
            return (
                text if 'helpdesk_sla_clocks_at_risk{target="first_response"} 1.0' in text else None
            )

        metrics = await wait_for(gauged, within=30, what="the clock at risk on /metrics")
    assert 'helpdesk_sla_clocks_at_risk{target="resolution"} 0.0' in metrics
    mine = [r for r in risks if r["ticket_id"] == "t-9"]
    assert [r["target"] for r in mine] == ["first_response"]
    assert "takes 25 min (median of 6)" in mine[0]["reason"]
    events = await sla_events(isolated, lambda es: any(e.type == "sla.at_risk" for e in es))
    flagged = [(e.subject, e.data.target, e.id) for e in events if e.type == "sla.at_risk"]
    assert [f[:2] for f in flagged] == [("t-9", "first_response")], flagged


async def test_a_changed_policy_is_applied_to_history_and_the_changed_outcomes_reported(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START + timedelta(hours=1))
    admin = auth(["admin"])
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "triage", [triaged(1, at=START), triaged(2, at=START)])
        await send(isolated, "intake", [agent_reply(1, START + timedelta(minutes=20))])
        await send(isolated, "intake", [agent_reply(2, START + timedelta(minutes=10))])
        for n in (1, 2):
            await clock_when(sla, n, lambda c: target(c, "first_response")["outcome"], "replied")
        kinder = {
            "id": "platinum/highest",
            "service_level": "platinum",
            "priority": "highest",
            "target_seconds": {"first_response": 1800, "next_update": 3600, "resolution": 14400},
            "calendar_id": "24x7",
        }
        assert (
            await sla.put("/v1/sla/policies/platinum/highest", json=kinder, headers=admin)
        ).is_success
        scope = {"policy_id": "platinum/highest"}
        dry = (await sla.post("/v1/sla/recalculations", json=scope, headers=admin)).json()
        before = await sla.get("/v1/sla/clocks/t-1", headers=auth())
        done = await sla.post(
            "/v1/sla/recalculations", json={**scope, "apply": True}, headers=admin
        )
        after = await sla.get("/v1/sla/clocks/t-1", headers=auth())
        nothing = await sla.post("/v1/sla/recalculations", json={}, headers=admin)
    assert (dry["clocks_checked"], dry["clocks_changed"], dry["applied"]) == (2, 2, False)
    first = {c["ticket_id"]: c for c in dry["changes"]}["t-1"]
    response = {t["target"]: t for t in first["targets"]}["first_response"]
    assert (response["before"], response["after"]) == ("missed", "met")
    assert target(before.json(), "first_response")["outcome"] == "missed"  # a dry run
    assert done.json()["applied"] and target(after.json(), "first_response")["outcome"] == "met"
    assert target(after.json(), "first_response")["target_seconds"] == 1800
    assert nothing.status_code == 422


async def test_a_breach_found_at_night_waits_for_the_office_unless_24x7_or_the_policy_says_not(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    friday = datetime(2026, 11, 6, 15, 45, tzinfo=UTC)  # 16:45 in Stockholm
    monday = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)  # the office opens: 08:00 in Stockholm
    clock = FixedClock(friday)
    admin = auth(["admin"])
    ten_minutes = {"first_response": 600, "next_update": 3600, "resolution": 28800}
    async with sla_service(isolated, monkeypatch, clock) as sla:
        for priority, quiet in (("high", True), ("normal", False)):
            policy = {
                "id": f"gold/{priority}",
                "service_level": "gold",
                "priority": priority,
                "target_seconds": ten_minutes,
                "calendar_id": "office",
                "quiet_hours": quiet,
            }
            put = await sla.put(f"/v1/sla/policies/gold/{priority}", json=policy, headers=admin)
            assert put.status_code == 200
        gold = ServiceLevel.GOLD
        await send(
            isolated,
            "triage",
            [
                triaged(1, gold, priority=Priority.HIGH, at=friday),  # quiet hours
                triaged(2, gold, priority=Priority.NORMAL, at=friday),  # announced at once
                triaged(3, at=friday),  # platinum: 24x7
            ],
        )
        for n in (1, 2, 3):
            await clock_when(sla, n, lambda c: True, f"clock {n}")
    clock.advance(timedelta(hours=9))  # sla was down until 01:45 on Saturday night
    async with sla_service(isolated, monkeypatch, clock) as sla:
        loud = await clock_when(
            sla, 2, lambda c: target(c, "first_response")["breached"], "the loud breach"
        )
        await clock_when(sla, 3, lambda c: target(c, "first_response")["breached"], "24x7")
        held = await clock_when(sla, 1, lambda c: c["held_until"] is not None, "held")
        night = await sla_events(
            isolated, lambda es: sum(e.type == "sla.breached" for e in es) >= 3
        )
        clock.advance(monday - clock.now() + timedelta(seconds=1))
        morning = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["breached"], "the morning breach"
        )
    assert target(loud, "first_response")["due_at"].startswith("2026-11-06T15:55:00")
    assert target(held, "first_response")["breached"] is False
    assert (held["held_until"], held["next_check_at"]) == ("2026-11-09T07:00:00Z",) * 2
    breaches = {(e.subject, e.data.target) for e in night if e.type == "sla.breached"}
    assert ("t-1", "first_response") not in breaches
    assert {("t-2", "first_response"), ("t-3", "first_response")} <= breaches
    assert morning["held_until"] is None
    events = await sla_events(
        isolated, lambda es: any(e.type == "sla.breached" and e.subject == "t-1" for e in es)
    )
    first = [e for e in events if e.subject == "t-1" and e.type in ("sla.warning", "sla.breached")]
    assert [(e.type, e.data.target) for e in first] == [("sla.breached", "first_response")]
    assert first[0].time >= monday and first[0].data.due_at == friday + timedelta(minutes=10)


async def test_a_reply_read_before_the_clock_started_is_applied_when_it_starts(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FixedClock(START + timedelta(hours=1))
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "intake", [agent_reply(1, START + timedelta(minutes=10))])
        await send(isolated, "intake", [agent_reply(2, START + timedelta(minutes=40))])

        async def both_read() -> bool:  # handled with no clock yet to move: held
            handled = REGISTRY.get_sample_value(
                "helpdesk_events_in_total",
                {
                    "service": "sla",
                    "topic": isolated.topic("intake"),
                    "type": "ticket.message_added",
                },
            )
            return (handled or 0) >= 2

        await wait_for(both_read, what="both replies read before ticket.triaged")
        for n in (1, 2):
            missing = await sla.get(f"/v1/sla/clocks/t-{n}", headers=auth())
            assert missing.status_code == 404
        await send(isolated, "triage", [triaged(1, at=START), triaged(2, at=START)])
        one = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["state"] == "stopped", "t-1 replied"
        )
        two = await clock_when(
            sla, 2, lambda c: target(c, "first_response")["state"] == "stopped", "t-2 replied"
        )
    assert (target(one, "first_response")["outcome"], target(two, "first_response")["outcome"]) == (
        "met",
        "missed",
    )
    assert target(one, "next_update")["state"] == "running"


class Unpublished:
    """The relay's publisher in store-level tests: the relay is not started, so the events
    stay in each clock's outbox, where the tests count them."""

    service = "sla"

    async def publish(self, event: dict[str, Any]) -> None:
        raise AssertionError("the relay is not started in these tests")


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}sla"]
    await client.close()


def replica(db: Database, clock: FixedClock, holder: str) -> SlaDeps:
    """One sla replica's stores and scheduler on the shared database."""
    relay = OutboxRelay(
        db=db,
        publisher=cast(Any, Unpublished()),
        collections=[CLOCKS],
        sweep_seconds=60,
        clock=clock,
    )
    return SlaDeps(
        store=MongoClockStore(db),
        timers=MongoTimerStore(db),
        setup_store=MongoSetupStore(db),
        inputs=MongoInputStore(db),
        relay=relay,
        clock=clock,
        holder=holder,
        setup=Expiring(0.0),
    )


async def outbox_events(db: Database) -> list[dict[str, Any]]:
    docs = await db[CLOCKS].find().to_list(None)
    return [event for doc in docs for event in doc.get("outbox", [])]


async def test_two_scheduler_replicas_on_one_database_announce_each_due_breach_once(
    db: Database,
) -> None:
    clock = FixedClock(START)
    a, b = replica(db, clock, "sla-a"), replica(db, clock, "sla-b")
    tickets = range(1, 13)
    for n in tickets:
        await on_event(triaged(n), f"t-{n}", a if n % 2 else b)
    holders = set()
    for step in range(1, 44):  # five hours in 7-minute steps: every lease lapses in between
        clock.advance(timedelta(minutes=7))
        if step == 26:  # a lease changing hands mid-round: both read the same seconds
            cursor = await a.timers.cursor()
            assert cursor is not None
            present = clock.now().replace(microsecond=0) - timedelta(seconds=1)
            seen_a = await a.timers.due(cursor, present, present)
            seen_b = await b.timers.due(cursor, present, present)
            assert seen_a and sorted(seen_a) == sorted(seen_b)  # the resolutions' warnings
            await asyncio.gather(*(fire(t, a) for t in seen_a), *(fire(t, b) for t in seen_b))
        # by turns, and both at once every third step
        await asyncio.gather(*(tick(r) for r in ((a, b), (a,), (b,))[step % 3]))
        lease = await a.timers.lease()
        assert lease is not None
        holders.add(lease[0])
    events = await outbox_events(db)
    breaches = Counter(
        (e["subject"], e["data"]["target"]) for e in events if e["type"] == "sla.breached"
    )
    assert breaches == Counter(
        {(f"t-{n}", t): 1 for n in tickets for t in ("first_response", "resolution")}
    )
    warnings = [
        (e["subject"], e["data"]["target"], e["data"]["fraction"])
        for e in events
        if e["type"] == "sla.warning"
    ]
    assert len(warnings) == len(set(warnings))  # each threshold at most once
    assert holders == {"sla-a", "sla-b"}


async def test_a_timer_added_for_a_second_the_scheduler_closed_already_is_fired_the_next(
    db: Database,
) -> None:
    clock = FixedClock(START)
    deps = replica(db, clock, "sla-a")
    await tick(deps)  # the first round: the cursor starts here
    await on_event(triaged(1), "t-1", deps)
    due = START + timedelta(minutes=15)  # the first response's breach
    # the scheduler is reading that second (its cursor not moved past it yet) ...
    assert await deps.timers.due(due - timedelta(seconds=1), due, due) == []
    # ... when a writer aims there: the bucket is closed, the timer lands a second later
    await deps.timers.add_timer("t-1", due)
    closed = await db[TIMERS].find_one({"_id": second_of(due)})
    moved = await db[TIMERS].find_one({"_id": second_of(due + timedelta(seconds=1))})
    assert closed is not None and closed["closed"] and not closed.get("tickets")
    assert moved is not None and moved["tickets"] == ["t-1"] and not moved.get("closed")
    clock.advance(timedelta(minutes=15, seconds=2))
    await tick(deps)
    events = await outbox_events(db)
    assert [e["data"]["target"] for e in events if e["type"] == "sla.breached"] == [
        "first_response"
    ]
    assert await deps.timers.cursor() == due + timedelta(seconds=1)


async def test_a_stopped_clock_leaves_the_watched_set_once_its_history_is_old(
    db: Database,
) -> None:
    clock = FixedClock(START)
    deps = replica(db, clock, "sla-a")
    await on_event(triaged(1), "t-1", deps)
    await on_event(triaged(2), "t-2", deps)
    await on_event(_resolved(2, START + timedelta(minutes=5)), "t-2", deps)
    watched = {c.ticket_id for c in await deps.store.watched_clocks()}
    assert watched == {"t-1", "t-2"}  # t-2's outcomes are history the predictor learns from
    clock.advance(timedelta(days=8))
    await predict(deps)
    assert {c.ticket_id for c in await deps.store.watched_clocks()} == {"t-1"}
    await on_event(_reopened(2, clock.now()), "t-2", deps)  # running again: watched again
    assert {c.ticket_id for c in await deps.store.watched_clocks()} == {"t-1", "t-2"}
