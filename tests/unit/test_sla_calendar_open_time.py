"""The rules a calendar and a policy pass when saved: a calendar open at least the minimum (52
hours a year by default, an hour a week) in each year the planner looks ahead, measured with the
calendar's own business time, the field to change named when it is not; a policy's targets that
fit on its calendar, and fractions and seconds the planner can work with."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sla.domain import (
    Calendar,
    Policy,
    Unplannable,
    add_business,
    always_on,
    business_seconds,
    default_policies,
    office,
    too_little_open_time,
    unreachable_target,
)
from services.sla.domain.checks import YEARS_AHEAD

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday
HOUR = 3600.0
MINIMUM = 52 * HOUR
SE = office("office", "Europe/Stockholm", "SE")
LONGEST_DEFAULT = max(s for p in default_policies().values() for s in p.target_seconds.values())


def calendar(hours: dict[int, list[tuple[time, time]]], **fields: Any) -> Calendar:
    return Calendar(id="drawn", time_zone="Europe/Stockholm", hours=hours, **fields)


MONDAY_HOUR = {0: [(time(8), time(9))]}


def test_a_calendar_open_a_microsecond_a_week_is_refused_for_its_hours() -> None:
    micro = calendar({0: [(time(8), time(8, 0, 0, 1))]})
    refusal = too_little_open_time(micro, NOW, MINIMUM)
    assert refusal is not None and refusal.field == "hours"
    assert "at least 52 h a year" in refusal.message and "2026-11-02" in refusal.message


def test_an_hour_every_monday_is_just_enough_but_not_with_the_swedish_holidays() -> None:
    assert too_little_open_time(calendar(MONDAY_HOUR), NOW, MINIMUM) is None
    swedish = calendar(MONDAY_HOUR, holiday_country="SE")  # Easter and Whit Monday, ...
    refusal = too_little_open_time(swedish, NOW, MINIMUM)
    assert refusal is not None and refusal.field == "holiday_country"
    assert too_little_open_time(swedish, NOW, 40 * HOUR) is None  # the minimum is a setting


def test_closed_days_that_close_a_later_year_are_named() -> None:
    mondays = [date(2030, 1, 7) + timedelta(weeks=w) for w in range(52)]
    refusal = too_little_open_time(calendar(MONDAY_HOUR, closed_days=mondays), NOW, MINIMUM)
    assert refusal is not None and refusal.field == "closed_days"
    assert "in the year from 2029-" in refusal.message


@pytest.mark.parametrize(
    "fine", [SE, always_on(), office("pl", "Europe/Warsaw", "PL")], ids=["se", "24x7", "pl"]
)
def test_the_usual_calendars_pass(fine: Calendar) -> None:
    assert too_little_open_time(fine, NOW, MINIMUM) is None


MICROS_A_DAY = 86_400 * 10**6


def _spans(lengths: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[time, time]]:
    """An interval of a day, `lengths` microseconds long (cut at midnight)."""
    return st.tuples(st.integers(0, MICROS_A_DAY - 2), lengths).map(
        lambda b: (
            (datetime.min + timedelta(microseconds=b[0])).time(),
            (datetime.min + timedelta(microseconds=min(b[0] + b[1], MICROS_A_DAY - 1))).time(),
        )
    )


def _calendars(lengths: st.SearchStrategy[int]) -> st.SearchStrategy[Calendar]:
    return st.builds(
        lambda hours, country, closed: calendar(
            {day: [span] for day, span in hours.items()},
            holiday_country=country,
            closed_days=closed,
        ),
        st.dictionaries(st.integers(0, 6), _spans(lengths), min_size=1, max_size=3),
        st.sampled_from([None, "SE", "PL"]),
        st.lists(st.dates(date(2026, 11, 1), date(2036, 11, 1)), max_size=60),
    )


MINUTE = 60 * 10**6
long_enough = _calendars(st.integers(45, 360).map(lambda m: m * MINUTE))
any_length = _calendars(st.one_of(st.integers(1, 10), st.integers(1, 6 * 60 * MINUTE)))


@settings(deadline=None, max_examples=40)
@given(long_enough, st.integers(0, 365 * 86_400), st.integers(0, LONGEST_DEFAULT))
def test_a_calendar_that_passes_plans_every_default_target_from_any_moment_of_its_year(
    calendar: Calendar, offset: int, seconds: int
) -> None:
    assume(too_little_open_time(calendar, NOW, MINIMUM) is None)
    start = NOW + timedelta(seconds=offset)
    due = add_business(calendar, start, seconds)
    assert business_seconds(calendar, start, due) == pytest.approx(seconds, abs=1e-6)


@settings(deadline=None, max_examples=25)
@given(any_length)
def test_a_calendar_refused_is_short_in_the_year_it_names(calendar: Calendar) -> None:
    refusal = too_little_open_time(calendar, NOW, MINIMUM)
    if refusal is None:
        return
    begins = datetime.fromisoformat(refusal.message.split("year from ")[1][:10]).date()
    year = next(
        NOW + timedelta(days=365 * n)
        for n in range(YEARS_AHEAD)
        if (NOW + timedelta(days=365 * n)).date() == begins
    )
    assert business_seconds(calendar, year, year + timedelta(days=365)) < MINIMUM


def policy(**fields: Any) -> dict[str, Any]:
    return default_policies()["gold/high"].model_dump(mode="json") | fields


TEN_YEARS = 10 * 365 * 86_400


def test_a_target_that_does_not_fit_on_its_calendar_is_named() -> None:
    long = Policy.model_validate(
        policy(target_seconds={"first_response": 60, "resolution": TEN_YEARS})
    )
    refusal = unreachable_target(long, SE, NOW)
    assert refusal is not None and refusal.field == "target_seconds.resolution"
    with pytest.raises(Unplannable):
        add_business(SE, NOW, TEN_YEARS)
    assert unreachable_target(long, always_on(), NOW) is None


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"warn_at": [float("nan")]}, "warn_at.0"),
        ({"warn_at": [float("inf")]}, "warn_at.0"),
        ({"warn_at": [0]}, "warn_at.0"),
        ({"warn_at": [-0.5]}, "warn_at.0"),
        ({"warn_at": [1.5]}, "warn_at.0"),
        ({"warn_at": [0.5] * 11}, "warn_at"),
        ({"target_seconds": {"resolution": -1}}, "target_seconds.resolution"),
        ({"target_seconds": {"resolution": 10**30}}, "target_seconds.resolution"),
        ({"target_seconds": {"first_respons": 60}}, "target_seconds"),
    ],
    ids=["nan", "inf", "zero", "negative", "past-the-breach", "many", "minus", "huge", "typo"],
)
def test_a_policy_the_planner_cannot_work_with_is_refused_at_its_field(
    fields: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Policy.model_validate_json(json.dumps(policy(**fields)))
    assert {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()} == {where}
