"""SLA calendars and policies through the HTTP API on real Kafka and FerretDB: whatever an admin
sends is saved, or refused with 422 problem+json naming the field, never a 500; a calendar open
too little to plan with (a microsecond a week, holidays or closed days eating its only hour) is
refused too, and so is a policy whose target cannot fit on its calendar."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from shared.clock import FixedClock
from tests.helpers import Isolation, auth
from tests.integration.test_sla_clocks import START, sla_service

pytestmark = pytest.mark.integration
ADMIN = auth(["admin"])
NINE_TO_FIVE = [["09:00", "17:00"]]
MONDAY_HOUR = {"0": [["08:00", "09:00"]]}
MONDAYS_OF_2030 = [f"2030-{m:02d}-{d:02d}" for m, d in [(1, 7), (1, 14), (1, 21), (1, 28)]]


def cal(**fields: Any) -> dict[str, Any]:
    return {"id": "c1", "time_zone": "Europe/Stockholm", "hours": {"0": NINE_TO_FIVE}} | fields


# name -> (body, the fields the 422 names)
BAD_CALENDARS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "mixed-aware-and-naive": (
        cal(hours={"0": [["08:00", "12:00"], ["13:00+01:00", "17:00+01:00"]]}),
        {"body.hours.0.1.0", "body.hours.0.1.1"},
    ),
    "mixed-in-one-interval": (cal(hours={"0": [["08:00", "17:00Z"]]}), {"body.hours.0.0.1"}),
    "negative-offsets": (
        cal(hours={"0": [["08:00-05:00", "17:00-05:00"]]}),
        {"body.hours.0.0.0", "body.hours.0.0.1"},
    ),
    "seconds-as-number": (
        cal(hours={"0": [[28800, 61200]]}),
        {"body.hours.0.0.0", "body.hours.0.0.1"},
    ),
    "24:00": (cal(hours={"0": [["00:00", "24:00"]]}), {"body.hours.0.0.1"}),
    "end-before-start": (cal(hours={"0": [["17:00", "08:00"]]}), {"body.hours.0.0"}),
    "overlapping": (cal(hours={"0": [["08:00", "12:00"], ["11:00", "17:00"]]}), {"body.hours.0"}),
    "empty-lists": (cal(hours={"0": [], "1": []}), {"body.hours"}),
    "no-hours": (cal(hours={}), {"body.hours"}),
    "weekday-7": (cal(hours={"7": NINE_TO_FIVE}), {"body.hours.7.[key]"}),
    "unknown-zone": (cal(time_zone="Europe/Atlantis"), {"body.time_zone"}),
    "zone-directory": (cal(time_zone="America"), {"body.time_zone"}),
    "closed-day-naive-datetime": (cal(closed_days=["2026-12-24T00:00:00"]), {"body.closed_days.0"}),
    "closed-day-aware-datetime": (
        cal(closed_days=["2026-12-24", "2026-12-31T00:00:00+01:00"]),
        {"body.closed_days.1"},
    ),
    "subdivision-alone": (cal(holiday_subdivision="CA"), {"body.holiday_subdivision"}),
    "a-microsecond-a-week": (cal(hours={"0": [["08:00", "08:00:00.000001"]]}), {"hours"}),
    "an-hour-a-week-less-holidays": (
        cal(hours=MONDAY_HOUR, holiday_country="SE"),
        {"holiday_country"},
    ),
}
TARGETS = {"first_response": 3600, "next_update": 7200, "resolution": 32400}
TEN_YEARS = 10 * 365 * 86_400
# name -> (fields of the policy changed, the fields the 422 names); sent as JSON with NaN and
# Infinity literals, which Python's JSON reader takes
BAD_POLICIES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "nan-warning": ({"warn_at": [float("nan")]}, {"body.warn_at.0"}),
    "infinite-warning": ({"warn_at": [float("inf")]}, {"body.warn_at.0"}),
    "warning-past-the-breach": ({"warn_at": [2.0]}, {"body.warn_at.0"}),
    "float-huge-target": (
        {"target_seconds": TARGETS | {"resolution": 1e300}},
        {"body.target_seconds.resolution"},
    ),
    "int-huge-target": (
        {"target_seconds": TARGETS | {"resolution": 10**30}},
        {"body.target_seconds.resolution"},
    ),
    "negative-target": (
        {"target_seconds": TARGETS | {"resolution": -5}},
        {"body.target_seconds.resolution"},
    ),
    "unknown-target": ({"target_seconds": {"resolve": 60}}, {"body.target_seconds"}),
    "target-that-does-not-fit": (
        {"target_seconds": TARGETS | {"resolution": TEN_YEARS}},
        {"target_seconds.resolution"},
    ),
    "calendar-that-does-not-exist": ({"calendar_id": "nowhere"}, {"calendar_id"}),
}


def named(response: httpx.Response) -> tuple[int, str, set[str]]:
    body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
    fields = {e["field"] for e in body.get("errors", [])}
    return response.status_code, response.headers.get("content-type", ""), fields


async def test_a_calendar_the_planner_cannot_use_is_refused_naming_the_field_never_with_a_500(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sla_service(isolated, monkeypatch, FixedClock(START)) as sla:
        answers = {
            name: named(await sla.put("/v1/sla/calendars/c1", json=body, headers=ADMIN))
            for name, (body, _) in BAD_CALENDARS.items()
        }
        listed = await sla.get("/v1/sla/calendars", headers=auth())
        posted = await sla.post("/v1/sla/calendars", json=cal(), headers=ADMIN)
    problem = "application/problem+json"
    assert answers == {name: (422, problem, fields) for name, (_, fields) in BAD_CALENDARS.items()}
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [
        "24x7",
        "office",
    ]
    assert named(posted)[:2] == (405, problem)


async def test_hours_closed_days_and_holidays_that_leave_enough_open_time_are_saved_sorted(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday_and_more = {
        "0": [["13:00:00", "17:00:00"], ["08:00", "12:00"]],
        "2": [["08:00", "09:00"]],
    }
    fine = cal(
        hours=monday_and_more, holiday_country="SE", closed_days=["9999-12-31", "2026-12-28"]
    )
    async with sla_service(isolated, monkeypatch, FixedClock(START)) as sla:
        saved = await sla.put("/v1/sla/calendars/c1", json=fine, headers=ADMIN)
        short = cal(id="c2", hours=MONDAY_HOUR, closed_days=MONDAYS_OF_2030)
        refused = await sla.put("/v1/sla/calendars/c2", json=short, headers=ADMIN)
        calendars = (await sla.get("/v1/sla/calendars", headers=auth())).json()["items"]
        listed = {c["id"]: c for c in calendars}
    assert saved.status_code == 200, saved.text
    assert listed["c1"]["hours"] == {
        "0": [["08:00:00", "12:00:00"], ["13:00:00", "17:00:00"]],
        "2": [["08:00:00", "09:00:00"]],
    }
    assert listed["c1"]["closed_days"] == ["2026-12-28", "9999-12-31"]
    assert named(refused)[0] == 422 and named(refused)[2] == {"closed_days"}
    assert "at least 52 h a year" in refused.json()["detail"] and "c2" not in listed


async def test_a_policy_the_planner_cannot_work_with_is_refused_naming_the_field(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {
        "id": "gold/high",
        "service_level": "gold",
        "priority": "high",
        "target_seconds": TARGETS,
        "calendar_id": "office",
    }
    async with sla_service(isolated, monkeypatch, FixedClock(START)) as sla:
        answers = {}
        for name, (fields, _) in BAD_POLICIES.items():
            response = await sla.put(
                "/v1/sla/policies/gold/high",
                content=json.dumps(base | fields, allow_nan=True),
                headers=ADMIN | {"content-type": "application/json"},
            )
            answers[name] = named(response)
        on_24x7 = await sla.put(
            "/v1/sla/policies/gold/high",
            json=base
            | {"calendar_id": "24x7", "target_seconds": TARGETS | {"resolution": TEN_YEARS}},
            headers=ADMIN,
        )
    problem = "application/problem+json"
    assert answers == {name: (422, problem, fields) for name, (_, fields) in BAD_POLICIES.items()}
    assert on_24x7.status_code == 200, on_24x7.text
