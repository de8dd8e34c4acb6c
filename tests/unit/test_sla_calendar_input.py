"""What a calendar accepts, and what business time answers for any calendar it accepted. The rule
for times: every time of day in `hours` is a wall-clock time without an offset, read in the
calendar's zone, and closed days are plain dates. Anything else is refused by the model with the
field it is in (what the API answers as 422), never with another error (a 500); and the
arithmetic the clocks use answers for any span of time, however long."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sla.domain import Calendar, add_business, business_seconds, office
from services.sla.domain.calendar import closed_until

SE = office("office-se", "Europe/Stockholm", "SE")
NINE_TO_FIVE = [["09:00", "17:00"]]
HOUR = 3600.0


def refused_at(fields: dict[str, Any]) -> set[str]:
    """The fields the calendar is refused for (dotted, as problem+json names them)."""
    with pytest.raises(ValidationError) as refused:
        Calendar.model_validate({"id": "broken", "time_zone": "Europe/Stockholm", **fields})
    return {".".join(str(p) for p in e["loc"]) for e in refused.value.errors()}


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        pytest.param(
            {"hours": {"0": [["08:00", "12:00"], ["13:00+01:00", "17:00+01:00"]]}},
            {"hours.0.1.0", "hours.0.1.1"},
            id="a-day-mixing-naive-and-aware-times",
        ),
        pytest.param(
            {"hours": {"0": [["08:00", "17:00+01:00"]]}},
            {"hours.0.0.1"},
            id="an-interval-mixing-naive-and-aware",
        ),
        pytest.param(
            {"hours": {"0": [["08:00+01:00", "17:00+01:00"]], "1": NINE_TO_FIVE}},
            {"hours.0.0.0", "hours.0.0.1"},
            id="aware-on-one-day-naive-on-another",
        ),
        pytest.param(
            {"hours": {"0": [["09:00+05:00", "08:00Z"]]}},
            {"hours.0.0.0", "hours.0.0.1"},
            id="in-order-by-instant-not-by-wall-clock",
        ),
        pytest.param(
            {"hours": {"0": [["08:00-05:00", "17:00-05:00"]]}},
            {"hours.0.0.0", "hours.0.0.1"},
            id="negative-offsets",
        ),
        pytest.param({"hours": {"0": [[28800, "17:00"]]}}, {"hours.0.0.0"}, id="seconds-number"),
        pytest.param({"hours": {"0": [["08:00", "24:00"]]}}, {"hours.0.0.1"}, id="24:00"),
        pytest.param({"hours": {"0": [["17:00", "08:00"]]}}, {"hours.0.0"}, id="end-before-start"),
        pytest.param({"hours": {"0": [["09:00", "09:00"]]}}, {"hours.0.0"}, id="end-at-start"),
        pytest.param(
            {"hours": {"0": [["08:00", "12:00"], ["11:00", "17:00"]]}}, {"hours.0"}, id="overlap"
        ),
        pytest.param({"hours": {}}, {"hours"}, id="no-hours"),
        pytest.param({}, {"hours"}, id="hours-left-out"),
        pytest.param({"hours": {"0": [], "3": []}}, {"hours"}, id="empty-lists"),
        pytest.param({"hours": {"7": NINE_TO_FIVE}}, {"hours.7.[key]"}, id="weekday-7"),
        pytest.param({"hours": {"0": [["08:00"]]}}, {"hours.0.0.1"}, id="half-an-interval"),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "closed_days": ["2026-12-24T00:00:00"]},
            {"closed_days.0"},
            id="closed-day-naive-datetime",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "closed_days": ["2026-12-24", "2026-12-31T00:00:00Z"]},
            {"closed_days.1"},
            id="closed-day-aware-datetime",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "closed_days": [1798070400]},
            {"closed_days.0"},
            id="closed-day-unix-time",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "closed_days": [datetime(2026, 12, 24, tzinfo=UTC)]},
            {"closed_days.0"},
            id="closed-day-python-datetime",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "time_zone": "Europe/Atlantis"},
            {"time_zone"},
            id="zone-that-does-not-exist",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "time_zone": "Europe"}, {"time_zone"}, id="dir"
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "time_zone": "x" * 5000}, {"time_zone"}, id="long-zone"
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "holiday_country": "ZZ"},
            {"holiday_country"},
            id="country",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "holiday_country": "US", "holiday_subdivision": "XX"},
            {"holiday_subdivision"},
            id="subdivision",
        ),
        pytest.param(
            {"hours": {"0": NINE_TO_FIVE}, "holiday_subdivision": "CA"},
            {"holiday_subdivision"},
            id="subdivision-without-country",
        ),
    ],
)
def test_a_calendar_the_planner_cannot_read_is_refused_at_the_field_it_is_in(
    fields: dict[str, Any], where: set[str]
) -> None:
    assert refused_at(fields) == where


def test_hours_given_as_strings_with_seconds_and_microseconds_are_accepted_and_kept_sorted() -> (
    None
):
    calendar = Calendar.model_validate(
        {
            "id": "split",
            "hours": {
                "4": [["13:00:00", "17:00:00.5"]],
                "0": [["13:00", "17:00"], ["08:00", "13:00"]],
            },
            "closed_days": ["2026-12-31", "2026-12-24", "2026-12-31"],
        }
    )
    assert calendar.hours == {
        0: [(time(8), time(13)), (time(13), time(17))],
        4: [(time(13), time(17, 0, 0, 500_000))],
    }
    assert calendar.closed_days == [date(2026, 12, 24), date(2026, 12, 31)]
    again = Calendar.model_validate(calendar.model_dump(mode="json"))
    assert again == calendar


def test_a_round_the_clock_calendar_needs_no_hours() -> None:
    assert Calendar.model_validate({"id": "all-day", "always_on": True}).hours == {}


def test_the_calendar_schema_says_how_times_are_read() -> None:
    description = Calendar.model_json_schema()["description"]
    assert "without an offset" in description and "time_zone" in description


def test_business_time_over_more_than_ten_years_is_the_sum_of_its_years() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    years = [start.replace(year=2026 + n) for n in range(13)]
    total = business_seconds(SE, years[0], years[-1])
    parts = sum(business_seconds(SE, a, b) for a, b in zip(years, years[1:], strict=False))
    assert total == pytest.approx(parts) and 12 * 2000 * HOUR < total < 12 * 2400 * HOUR


SUNDAY_SHIFT = Calendar(id="rare", time_zone="Europe/Stockholm", hours={6: [(time(1), time(4))]})
MICROS_A_DAY = 86_400 * 10**6


def _time(micros: int) -> time:
    return (datetime.min + timedelta(microseconds=micros)).time()


@st.composite
def intervals(draw: st.DrawFn) -> list[tuple[time, time]]:
    """One interval of a day, from a microsecond long to a few hours."""
    begin = draw(st.integers(0, MICROS_A_DAY - 2))
    length = draw(st.one_of(st.integers(1, 10), st.integers(1, 4 * 3600 * 10**6)))
    return [(_time(begin), _time(min(begin + length, MICROS_A_DAY - 1)))]


calendars = st.builds(
    lambda hours, zone, closed: Calendar(
        id="drawn", time_zone=zone, hours=hours, closed_days=closed
    ),
    st.dictionaries(st.integers(0, 6), intervals(), min_size=1, max_size=7),
    st.sampled_from(["UTC", "Europe/Stockholm", "America/New_York", "Australia/Lord_Howe"]),
    st.lists(st.dates(date(2026, 1, 1), date(2040, 12, 31)), max_size=40),
)
moments = st.datetimes(
    min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 29), timezones=st.just(UTC)
)
OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
time_forms = st.one_of(
    st.sampled_from(["08:00", "17:00", "08:00:00", "24:00", "08:00+02:00", "17:00Z", "", "noon"]),
    st.sampled_from(["08:00-05:00", "17:00:00.000001"]),
    st.times(timezones=st.sampled_from([None, *OFFSETS])).map(str),
    st.integers(-1, 90_000),
    st.floats(),
    st.none(),
)
day_forms = st.one_of(
    st.dates().map(str),
    st.datetimes(timezones=st.sampled_from([None, *OFFSETS])).map(lambda d: d.isoformat()),
    st.integers(),
    st.text(max_size=12),
)


@given(
    st.dictionaries(
        st.sampled_from(["0", "1", "6", "7", "-1", "x"]),
        st.lists(st.lists(time_forms, max_size=3), max_size=3),
        max_size=4,
    ),
    st.lists(day_forms, max_size=4),
    st.sampled_from(["UTC", "Europe/Stockholm", "Mars/Olympus", "", "Europe"]),
)
def test_any_calendar_input_is_accepted_or_refused_naming_its_fields(
    hours: dict[str, Any], closed: list[Any], zone: str
) -> None:
    body = {"id": "drawn", "time_zone": zone, "hours": hours, "closed_days": closed}
    try:
        calendar = Calendar.model_validate(body)
    except ValidationError as refused:
        assert all(error["loc"] for error in refused.errors())
        return
    assert Calendar.model_validate(calendar.model_dump(mode="json")) == calendar


@settings(deadline=None, max_examples=60)
@given(calendars, moments, moments)
def test_business_time_answers_for_any_accepted_calendar_and_any_two_moments(
    calendar: Calendar, a: datetime, b: datetime
) -> None:
    start, end = sorted((a, b))
    if (end - start).days > 40 * 365:  # a walk day by day: keep the examples quick
        end = start + timedelta(days=40 * 365)
    used = business_seconds(calendar, start, end)
    assert 0 <= used <= (end - start).total_seconds()


def test_a_sunday_night_shift_counts_its_hours_for_decades() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert business_seconds(SUNDAY_SHIFT, start, start.replace(year=2046)) > 20 * 52 * 2 * HOUR


def test_quiet_hours_of_a_calendar_that_never_opens_again_do_not_hold_anything() -> None:
    closed_for_good = Calendar.model_validate(
        {
            "id": "closing",
            "hours": {"0": NINE_TO_FIVE},
            "closed_days": [
                (date(2026, 1, 5) + timedelta(weeks=w)).isoformat() for w in range(0, 600)
            ],
        }
    )
    assert closed_until(closed_for_good, datetime(2026, 1, 4, tzinfo=UTC)) is None


def test_a_deadline_after_the_last_day_a_date_can_name_is_refused_as_unplannable() -> None:
    late = datetime(9999, 12, 30, tzinfo=ZoneInfo("UTC"))
    with pytest.raises(ValueError, match="beyond"):
        add_business(SE.model_copy(update={"always_on": True}), late, 5 * 86_400)
    with pytest.raises(ValueError, match="beyond"):
        add_business(SE.model_copy(update={"always_on": True}), late, 1e20)
