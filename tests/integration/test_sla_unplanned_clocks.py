"""Tickets whose clock cannot be planned, on real Kafka and FerretDB: a calendar stored before
calendars had to be open long enough (a microsecond a week), one whose stored document cannot be
read, and a policy whose target cannot fit on its calendar. Every ticket.triaged is handled (none
dead-lettered), the clock is stored with `planned` false and the reason, sla.clock_unplanned is
announced and counted, the other tickets' clocks run as usual, and once the calendar is fixed a
recalculation plans the clock (sla.clock_replanned)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from services.sla.domain import Calendar, Policy, default_policies
from services.sla.store import CALENDARS, POLICIES, MongoSetupStore
from shared.clock import FixedClock
from shared.db import Database
from shared.events.common import ServiceLevel, TicketStatus
from tests.helpers import Isolation, auth
from tests.integration.test_sla_clocks import (
    START,
    agent_reply,
    clock_when,
    sla_events,
    sla_service,
    status,
    target,
    triaged,
)
from tests.integration.test_triage_work import send

pytestmark = pytest.mark.integration
ADMIN = auth(["admin"])
GOLD = ServiceLevel.GOLD
MICRO = Calendar(id="micro", time_zone="Europe/Stockholm", hours={0: [(time(8), time(8, 0, 0, 1))]})
TEN_YEARS = 10 * 365 * 86_400


@pytest.fixture
async def db(isolated: Isolation) -> AsyncIterator[Database]:
    """The sla service's database, to store what an older version left there."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}sla"]
    await client.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def unplanned_count(name: str) -> float:
    return sample("helpdesk_sla_unplanned_targets_total", target=name)


async def store_setup_from_before(db: Database) -> None:
    """What an older sla could have stored: a calendar open a microsecond a week (the model
    took it), a calendar whose intervals were written with offsets (the old reader split
    "08:00:00-05:00-17:00:00-05:00" on every "-"), one that no reader can take, and a policy
    override that no longer loads."""
    await MongoSetupStore(db).put_calendar(MICRO)
    legacy = {"id": "ny", "time_zone": "America/New_York", "always_on": False, "name": ""}
    hours = {"hours": {str(d): ["08:00:00-05:00-17:00:00-05:00"] for d in range(5)}}
    await db[CALENDARS].insert_one({"_id": "ny", **legacy, **hours, "closed_days": []})
    await db[CALENDARS].insert_one({"_id": "broken", "id": "broken", "hours": {"0": ["noon"]}})
    await db[POLICIES].insert_one({"_id": "gold/low", "id": "gold/low", "warn_at": [None]})


async def test_a_ticket_on_a_calendar_that_cannot_plan_gets_a_clock_an_alert_and_a_fix_later(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    await store_setup_from_before(db)
    for org, calendar in (("tiny", "micro"), ("lost", "broken"), ("east", "ny")):
        await MongoSetupStore(db).assign(f"organization:{org}", calendar)
    counted = unplanned_count("first_response")
    async with sla_service(isolated, monkeypatch, FixedClock(START)) as sla:
        calendars = await sla.get("/v1/sla/calendars", headers=auth())
        policies = await sla.get("/v1/sla/policies", headers=auth())
        orgs = {1: "tiny", 2: "lost", 3: "acme", 4: "east"}
        await send(
            isolated, "triage", [triaged(n, GOLD, organization_id=o) for n, o in orgs.items()]
        )
        tiny = await clock_when(sla, 1, lambda c: True, "the clock on the tiny calendar")
        lost = await clock_when(sla, 2, lambda c: True, "the clock on the unreadable calendar")
        usual = await clock_when(sla, 3, lambda c: True, "the clock on the office calendar")
        east = await clock_when(sla, 4, lambda c: True, "the clock on the legacy calendar")
        alerts = await sla_events(
            isolated, lambda es: sum(e.type == "sla.clock_unplanned" for e in es) >= 2
        )
        fixed = await sla.put(
            "/v1/sla/calendars/micro",
            json=MICRO.model_dump(mode="json") | {"hours": {"0": [["08:00", "17:00"]]}},
            headers=ADMIN,
        )
        scope = {"calendar_id": "micro", "apply": True}
        recalculated = await sla.post("/v1/sla/recalculations", json=scope, headers=ADMIN)
        planned = await clock_when(sla, 1, lambda c: c["planned"], "planned after the fix")
        waiting = status(1, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, START)
        await send(isolated, "triage", [waiting])
        await clock_when(sla, 1, lambda c: c["state"] == "paused", "paused")
        replanned = await sla_events(
            isolated, lambda es: any(e.type == "sla.clock_replanned" for e in es)
        )
    assert calendars.status_code == policies.status_code == 200
    listed = {c["id"]: c for c in calendars.json()["items"]}
    assert "broken" not in listed and listed["ny"]["hours"]["0"] == [["08:00:00", "17:00:00"]]
    assert {"24x7", "office", "micro", "ny"} <= set(listed)
    for clock, why in ((tiny, "calendar micro has too little open time"), (lost, "unreadable")):
        assert clock["planned"] is False and clock["state"] == "running"
        for name in ("first_response", "resolution"):
            assert target(clock, name)["planned"] is False and target(clock, name)["due_at"] is None
            assert why in target(clock, name)["unplanned_reason"]
    assert usual["planned"] and target(usual, "first_response")["due_at"].startswith("2026-11-02")
    # 09:00 UTC is 04:00 in New York: half an hour from 08:00 there, the offset dropped
    assert target(east, "first_response")["due_at"].startswith("2026-11-02T13:30:00")
    unplanned = {e.subject: e for e in alerts if e.type == "sla.clock_unplanned"}
    assert set(unplanned) == {"t-1", "t-2"}
    assert [t.name for t in unplanned["t-1"].data.targets] == ["first_response", "resolution"]
    assert unplanned["t-1"].data.calendar_id == "micro"
    assert unplanned_count("first_response") == counted + 2
    for collection in ("calendars", "policy_overrides"):  # counted at each read (decision 002)
        assert sample("helpdesk_sla_bad_records_total", collection=collection) >= 1
    topic = isolated.topic("triage")
    assert sample("helpdesk_events_dead_lettered_total", service="sla", topic=topic) == 0
    handled = sample("helpdesk_events_in_total", service="sla", topic=topic, type="ticket.triaged")
    assert handled == 4
    assert fixed.status_code == 200 and recalculated.json()["clocks_changed"] == 1
    assert target(planned, "first_response")["due_at"].startswith("2026-11-02T09:30:00")
    again = [e for e in replanned if e.type == "sla.clock_replanned" and e.subject == "t-1"]
    assert [t.due_at is not None for t in again[0].data.targets] == [True, False, True]


async def test_a_target_that_does_not_fit_on_the_calendar_leaves_the_others_planned(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    gold_high = default_policies()["gold/high"].model_dump()
    long: dict[str, Any] = gold_high | {
        "target_seconds": gold_high["target_seconds"] | {"resolution": TEN_YEARS}
    }
    await MongoSetupStore(db).put_policy(Policy.model_validate(long))  # saved before the rule
    clock = FixedClock(START)
    async with sla_service(isolated, monkeypatch, clock) as sla:
        await send(isolated, "triage", [triaged(1, GOLD, priority="high")])
        started = await clock_when(sla, 1, lambda c: True, "clock started")
        await send(isolated, "intake", [agent_reply(1, START + timedelta(minutes=30))])
        replied = await clock_when(
            sla, 1, lambda c: target(c, "first_response")["outcome"] == "met", "first response"
        )
        events = await sla_events(isolated, lambda es: any(e.type == "sla.met" for e in es))
    assert target(started, "first_response")["planned"] and not started["planned"]
    resolution = target(started, "resolution")
    assert (resolution["planned"], resolution["due_at"]) == (False, None)
    assert "too little open time" in resolution["unplanned_reason"]
    assert target(replied, "next_update")["planned"] and target(replied, "next_update")["due_at"]
    [alert] = [e for e in events if e.type == "sla.clock_unplanned"]
    assert [t.name for t in alert.data.targets] == ["resolution"]
    assert alert.data.targets[0].target_seconds == TEN_YEARS
