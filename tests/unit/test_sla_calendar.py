"""Business time on the SLA calendars: office hours in local time across midnights, weekends,
public holidays and DST changes, two intervals a day, and 24x7. The moments the properties draw
come in several zones, on purpose inside the missing hour and both folds of the repeated hour
of each 2026 DST change: the answers depend on the instant only, never on the zone it is in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.sla.domain import Calendar, add_business, always_on, business_seconds, office
from services.sla.domain.calendar import QUIET_GRACE, closed_until, open_intervals

STOCKHOLM, WARSAW = ZoneInfo("Europe/Stockholm"), ZoneInfo("Europe/Warsaw")
MOSCOW, NEW_YORK = ZoneInfo("Europe/Moscow"), ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # half-hour DST, changes in April and October
SE = office("office-se", "Europe/Stockholm", "SE")
PL = office("office-pl", "Europe/Warsaw", "PL")
US = office("office-us", "America/New_York", "US")
LUNCH = Calendar(
    id="lunch-se",
    time_zone="Europe/Stockholm",
    hours={day: [(time(8), time(12)), (time(13), time(17))] for day in range(5)},
    holiday_country="SE",
)
ON = always_on()
OFFICES = [SE, PL, US, LUNCH]
# Open only in the small hours of Sunday, when Europe and Lord Howe change their clocks.
NIGHT = Calendar(id="night-se", time_zone="Europe/Stockholm", hours={6: [(time(1), time(4))]})
NIGHT_LHI = Calendar(
    id="night-lhi", time_zone="Australia/Lord_Howe", hours={6: [(time(1), time(3))]}
)
SHIFTS = [*OFFICES, NIGHT, NIGHT_LHI]
HOUR = 3600.0

# DST weekends (SE and PL change together), Christmas, Midsummer Eve, 1 and 3 May, New Year.
ANCHORS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]
ANCHORS += [date(2026, 12, 25), date(2026, 6, 19), date(2027, 6, 25), date(2026, 5, 1)]
ANCHORS += [date(2027, 5, 3), date(2027, 1, 1), date(2027, 12, 25)]
SPECIAL_DAYS = [anchor + timedelta(days=d) for anchor in ANCHORS for d in range(-3, 4)]
EDGES = [0, 8 * 3600, 12 * 3600, 13 * 3600, 17 * 3600, 86_399]
ZONES: list[tzinfo] = [UTC, STOCKHOLM, WARSAW, MOSCOW, NEW_YORK, LORD_HOWE]


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta()


def _offset_changes(zone: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta]]:
    """The UTC instants in `year` at which `zone`'s offset changes, with the offsets either side."""
    found = []
    hour = datetime(year, 1, 1, tzinfo=UTC)
    while hour.year == year:
        before, after = _offset(hour, zone), _offset(hour + timedelta(hours=1), zone)
        if after != before:
            minutes = (hour + timedelta(minutes=m) for m in range(1, 61))
            found.append((next(m for m in minutes if _offset(m, zone) == after), before, after))
        hour += timedelta(hours=1)
    return found


def _odd_hours(zone: ZoneInfo) -> list[tuple[ZoneInfo, datetime, timedelta]]:
    """Each change's odd stretch of wall-clock time (naive start, length): missing when the
    clocks go forward, repeated (fold 0 then 1) when they go back."""
    return [
        (zone, (change + min(a, b)).replace(tzinfo=None), abs(b - a))
        for change, a, b in _offset_changes(zone, 2026)
    ]


ODD_HOURS = [
    odd for zone in (STOCKHOLM, WARSAW, MOSCOW, NEW_YORK, LORD_HOWE) for odd in _odd_hours(zone)
]


def _local(day: date, second: int, zone: ZoneInfo, fold: int) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(seconds=second)
    return naive.replace(tzinfo=zone, fold=fold)


special_moments = st.builds(
    _local,
    st.sampled_from(SPECIAL_DAYS),
    st.one_of(st.sampled_from(EDGES), st.integers(0, 86_399)),
    st.sampled_from([STOCKHOLM, WARSAW]),
    st.integers(0, 1),
)
any_moments = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from(ZONES),
)


@st.composite
def dst_moments(draw: st.DrawFn) -> datetime:
    """A wall-clock time in or near a DST change's missing or repeated stretch, either fold.
    The moments of one example share the stretch, so that two of them in one zone meet there
    often, where their wall-clock order and their real order can differ."""
    zone, begins, length = draw(st.shared(st.sampled_from(ODD_HOURS), key="odd-hours"))
    micros = length // timedelta(microseconds=1)
    edges = st.sampled_from([0, 1, micros // 2, micros - 1, micros, -1])
    around = st.integers(-2 * micros, 3 * micros)
    wall = begins + timedelta(microseconds=draw(st.one_of(edges, around)))
    return wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1)))


moments = st.one_of(special_moments, any_moments, dst_moments())
TEN_DAYS = 10 * 9 * HOUR
durations = st.one_of(
    st.integers(0, int(TEN_DAYS)), st.floats(0, TEN_DAYS, allow_nan=False, allow_infinity=False)
)
calendars = st.sampled_from([*SHIFTS, ON])


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def in_order(*found: datetime) -> list[datetime]:
    """By instant: two datetimes of one zone compare by wall clock, wrong in a repeated hour."""
    return sorted(found, key=utc)


def at(day: date, hour: int, zone: ZoneInfo = STOCKHOLM) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def open_at_or_closing(calendar: Calendar, moment: datetime) -> bool:
    """Worked out from the calendar's own fields and the holidays package, not its arithmetic."""
    local = moment.astimezone(ZoneInfo(calendar.time_zone))
    day = local.date()
    country = calendar.holiday_country
    if day in calendar.closed_days or (country and day in holidays.country_holidays(country)):
        return False
    return any(o < local.time() <= c for o, c in calendar.hours.get(day.weekday(), []))


@given(calendars, moments, durations)
def test_the_business_time_up_to_a_deadline_is_the_time_that_was_added(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    due = add_business(calendar, start, seconds)
    assert business_seconds(calendar, start, due) == pytest.approx(seconds, abs=1e-6)


@given(st.sampled_from(SHIFTS), moments, moments, moments)
def test_business_time_over_two_stretches_adds_up_to_the_whole(
    calendar: Calendar, x: datetime, y: datetime, z: datetime
) -> None:
    a, b, c = in_order(x, y, z)
    whole = business_seconds(calendar, a, c)
    halves = business_seconds(calendar, a, b) + business_seconds(calendar, b, c)
    assert halves == pytest.approx(whole, abs=1e-6)
    assert 0 <= business_seconds(calendar, a, b) <= whole


SATURDAY_NOON = datetime(2026, 3, 28, 12, tzinfo=STOCKHOLM)
IN_THE_GAP = datetime(2026, 3, 29, 2, 55, tzinfo=STOCKHOLM)  # 02:00-03:00 does not exist
AFTER_JUMP = datetime(2026, 3, 29, 3, tzinfo=STOCKHOLM)
SUNDAY_NOON = datetime(2026, 3, 29, 12, tzinfo=STOCKHOLM)


@example(SATURDAY_NOON, SUNDAY_NOON, SUNDAY_NOON.astimezone(UTC) + timedelta(hours=1))
@given(moments, moments, moments)
def test_round_the_clock_time_adds_up_whatever_zone_the_moments_are_in(
    x: datetime, y: datetime, z: datetime
) -> None:
    a, b, c = in_order(x, y, z)
    halves = business_seconds(ON, a, b) + business_seconds(ON, b, c)
    assert halves == pytest.approx(business_seconds(ON, a, c), abs=1e-6)


def test_round_the_clock_counts_the_short_night_of_the_spring_change_as_23_hours() -> None:
    assert business_seconds(ON, SATURDAY_NOON, SUNDAY_NOON) == 23 * HOUR
    assert add_business(ON, SATURDAY_NOON, 24 * HOUR) == SUNDAY_NOON + timedelta(hours=1)


@example(ON, IN_THE_GAP, AFTER_JUMP)
@given(calendars, moments, moments)
def test_business_time_is_never_negative_even_backwards(
    calendar: Calendar, start: datetime, end: datetime
) -> None:
    assert business_seconds(calendar, start, end) >= 0
    if utc(end) <= utc(start):
        assert business_seconds(calendar, start, end) == 0


@example(IN_THE_GAP, AFTER_JUMP)
@given(moments, moments)
def test_round_the_clock_time_is_the_time_that_really_passes_or_none(
    start: datetime, end: datetime
) -> None:
    passed = (utc(end) - utc(start)).total_seconds()
    assert business_seconds(ON, start, end) == max(passed, 0.0)


@given(calendars, moments, moments)
def test_adding_the_business_time_between_two_moments_reaches_the_first_with_all_of_it(
    calendar: Calendar, start: datetime, end: datetime
) -> None:
    used = business_seconds(calendar, start, end)
    due = add_business(calendar, start, used)
    assert utc(start) <= due <= max(utc(start), utc(end))
    assert business_seconds(calendar, start, due) == pytest.approx(used, abs=1e-6)
    if used > 0:  # and not a moment earlier
        assert business_seconds(calendar, start, due - timedelta(milliseconds=1)) < used
    if calendar.always_on:
        assert due == max(utc(start), utc(end))


@given(calendars, moments, moments, st.sampled_from(ZONES), durations)
def test_the_same_instants_give_the_same_answers_in_any_zone(
    calendar: Calendar, start: datetime, end: datetime, zone: tzinfo, seconds: float
) -> None:
    here, there = start.astimezone(zone), end.astimezone(zone)
    assert business_seconds(calendar, here, there) == business_seconds(calendar, start, end)
    assert add_business(calendar, here, seconds) == add_business(calendar, start, seconds)
    assert closed_until(calendar, here) == closed_until(calendar, start)
    if not calendar.always_on:  # a 24x7 calendar has no intervals to walk
        assert next(open_intervals(calendar, here)) == next(open_intervals(calendar, start))


@given(calendars, moments, st.timedeltas(timedelta(0), timedelta(hours=12)))
def test_quiet_hours_end_after_the_moment_they_are_asked_about(
    calendar: Calendar, now: datetime, grace: timedelta
) -> None:
    opens = closed_until(calendar, now, grace)
    assert opens is None or opens > utc(now)


@given(calendars, moments, durations, durations)
def test_a_longer_target_is_never_due_earlier(
    calendar: Calendar, start: datetime, x: float, y: float
) -> None:
    shorter, longer = sorted((x, y))
    assert (
        utc(start)
        <= add_business(calendar, start, shorter)
        <= add_business(calendar, start, longer)
    )


@given(st.sampled_from(SHIFTS), moments, st.floats(1e-6, TEN_DAYS))
def test_a_deadline_falls_in_opening_hours_never_at_night_weekends_or_holidays(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    assert open_at_or_closing(calendar, add_business(calendar, start, seconds))


@given(calendars, moments, st.floats(-TEN_DAYS, 0))
def test_nothing_left_to_add_is_due_at_once_even_at_night(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    assert add_business(calendar, start, seconds) == utc(start)


@example(ON, AFTER_JUMP)  # the grace before it lies in the missing hour
@given(calendars, moments)
def test_quiet_hours_last_from_a_while_after_closing_to_the_next_opening(
    calendar: Calendar, now: datetime
) -> None:
    opens = closed_until(calendar, now)
    instant = utc(now)  # plain datetime arithmetic in one zone is wall-clock time, not elapsed
    if opens is None:  # open now, or closed less than the grace ago
        after = instant + timedelta(microseconds=1)
        assert business_seconds(calendar, instant - QUIET_GRACE, after) > 0
    else:
        assert business_seconds(calendar, instant - QUIET_GRACE, now) == 0
        assert opens > instant and business_seconds(calendar, now, opens) == 0
        assert business_seconds(calendar, opens, opens + timedelta(minutes=1)) == 60


def test_quiet_hours_of_a_swedish_office_run_from_five_past_five_to_eight_on_a_workday() -> None:
    friday = date(2026, 11, 6)
    monday = at(date(2026, 11, 9), 8)
    assert closed_until(SE, at(friday, 17) + timedelta(minutes=4)) is None
    assert closed_until(SE, at(friday, 17) + timedelta(minutes=6)) == monday
    assert closed_until(SE, at(date(2026, 11, 8), 23)) == monday
    assert closed_until(SE, at(date(2026, 12, 24), 9)) == at(date(2026, 12, 28), 8)  # Christmas
    assert closed_until(ON, at(date(2026, 11, 8), 3)) is None


@given(moments, durations)
def test_round_the_clock_adds_plain_seconds_to_a_utc_moment(
    start: datetime, seconds: float
) -> None:
    utc = start.astimezone(UTC)
    assert add_business(ON, utc, seconds) == utc + timedelta(seconds=seconds)


@pytest.mark.parametrize("calendar", [SE, PL], ids=["stockholm", "warsaw"])
def test_from_friday_at_four_one_hour_is_due_at_closing_and_two_on_monday_at_nine(
    calendar: Calendar,
) -> None:
    zone = ZoneInfo(calendar.time_zone)
    friday = at(date(2026, 1, 9), 16, zone)
    assert add_business(calendar, friday, HOUR) == at(date(2026, 1, 9), 17, zone)
    due = add_business(calendar, friday, 2 * HOUR)
    assert due == at(date(2026, 1, 12), 9, zone)
    assert business_seconds(calendar, friday, due) == 2 * HOUR


@pytest.mark.parametrize(
    ("calendar", "friday", "due_day", "offset_before", "offset_after"),
    [
        pytest.param(SE, date(2026, 3, 27), date(2026, 3, 30), 1, 2, id="se-spring-forward"),
        pytest.param(PL, date(2026, 3, 27), date(2026, 3, 30), 1, 2, id="pl-spring-forward"),
        pytest.param(SE, date(2026, 10, 23), date(2026, 10, 26), 2, 1, id="se-fall-back"),
        pytest.param(PL, date(2026, 10, 23), date(2026, 10, 26), 2, 1, id="pl-fall-back"),
        # Easter Monday 2027 follows the change; 1 November is All Saints' Day in Poland only.
        pytest.param(PL, date(2027, 3, 26), date(2027, 3, 30), 1, 2, id="pl-easter-2027"),
        pytest.param(SE, date(2027, 10, 29), date(2027, 11, 1), 2, 1, id="se-fall-back-2027"),
        pytest.param(PL, date(2027, 10, 29), date(2027, 11, 2), 2, 1, id="pl-all-saints-2027"),
    ],
)
def test_the_office_opens_at_eight_local_time_on_both_sides_of_a_dst_change(
    calendar: Calendar, friday: date, due_day: date, offset_before: int, offset_after: int
) -> None:
    zone = ZoneInfo(calendar.time_zone)
    due = add_business(calendar, at(friday, 16, zone), 2 * HOUR)
    assert due == at(due_day, 9, zone)
    assert due.astimezone(zone).utcoffset() == timedelta(hours=offset_after)
    friday_opens, _ = next(open_intervals(calendar, at(friday, 0, zone)))
    after_opens, _ = next(open_intervals(calendar, at(due_day, 0, zone)))
    assert (friday_opens.hour, after_opens.hour) == (8 - offset_before, 8 - offset_after)
    assert business_seconds(calendar, at(friday, 8, zone), at(due_day, 17, zone)) == 18 * HOUR


@pytest.mark.parametrize(
    ("sunday", "hours"),
    [(date(2026, 3, 29), 2), (date(2026, 10, 25), 4), (date(2026, 11, 1), 3)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
def test_a_night_shift_over_a_dst_change_counts_the_hours_that_really_pass(
    sunday: date, hours: int
) -> None:
    assert business_seconds(NIGHT, at(sunday, 0), at(sunday, 12)) == hours * HOUR


@pytest.mark.parametrize(
    ("sunday", "minutes"),
    [(date(2026, 4, 5), 150), (date(2026, 10, 4), 90), (date(2026, 11, 1), 120)],
    ids=["fall-back", "spring-forward", "ordinary"],
)
def test_lord_howe_moves_its_clocks_by_half_an_hour(sunday: date, minutes: int) -> None:
    start = at(sunday, 0, LORD_HOWE)
    assert business_seconds(NIGHT_LHI, start, start + timedelta(hours=12)) == minutes * 60


def test_a_custom_closed_day_is_skipped() -> None:
    closed = Calendar.model_validate(SE.model_dump() | {"closed_days": [date(2026, 1, 12)]})
    assert add_business(closed, at(date(2026, 1, 9), 16), 2 * HOUR) == at(date(2026, 1, 13), 9)
    assert business_seconds(closed, at(date(2026, 1, 12), 0), at(date(2026, 1, 13), 0)) == 0


@pytest.mark.parametrize(
    ("calendar", "day"),
    [(SE, date(2026, 12, 25)), (PL, date(2026, 12, 25)), (PL, date(2026, 5, 1))],
    ids=["se-christmas", "pl-christmas", "pl-1-may"],
)
def test_a_public_holiday_on_a_weekday_has_no_business_time(calendar: Calendar, day: date) -> None:
    zone = ZoneInfo(calendar.time_zone)
    assert business_seconds(calendar, at(day, 0, zone), at(day + timedelta(days=1), 0, zone)) == 0


@pytest.mark.parametrize(
    ("calendar", "due_day"),
    [(PL, date(2027, 5, 4)), (SE, date(2027, 5, 3))],
    ids=["pl-skips-3-may", "se-works-3-may"],
)
def test_the_polish_constitution_day_is_skipped_only_in_poland(
    calendar: Calendar, due_day: date
) -> None:
    zone = ZoneInfo(calendar.time_zone)
    assert add_business(calendar, at(date(2027, 4, 30), 16, zone), 2 * HOUR) == at(due_day, 9, zone)


def test_two_hours_before_the_first_of_may_in_warsaw_are_due_the_next_monday() -> None:
    due = add_business(PL, at(date(2026, 4, 30), 16, WARSAW), 2 * HOUR)
    assert due == at(date(2026, 5, 4), 9, WARSAW)


@pytest.mark.parametrize(
    ("last_open_day", "monday"),
    [(date(2026, 6, 18), date(2026, 6, 22)), (date(2026, 12, 23), date(2026, 12, 28))],
    ids=["midsummer-eve", "christmas-eve"],
)
def test_a_swedish_office_is_closed_on_midsummer_eve_and_christmas_eve(
    last_open_day: date, monday: date
) -> None:
    assert add_business(SE, at(last_open_day, 16), 2 * HOUR) == at(monday, 9)


def test_the_lunch_break_between_two_intervals_is_skipped() -> None:
    monday = date(2026, 1, 12)
    assert add_business(LUNCH, at(monday, 11), 2 * HOUR) == at(monday, 14)
    assert business_seconds(LUNCH, at(monday, 0), at(monday + timedelta(days=1), 0)) == 8 * HOUR
    assert business_seconds(LUNCH, at(monday, 12), at(monday, 13)) == 0


NINE_TO_FIVE = [(time(9), time(17))]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"time_zone": "Europe/Atlantis", "hours": {0: NINE_TO_FIVE}}, id="zone"),
        pytest.param({"hours": {0: [(time(8), time(12)), (time(11), time(17))]}}, id="overlap"),
        pytest.param({"hours": {0: [(time(17), time(8))]}}, id="closes-before-it-opens"),
        pytest.param({"hours": {0: [(time(9), time(9))]}}, id="closes-as-it-opens"),
        pytest.param({}, id="no-hours"),
        pytest.param({"hours": {0: [], 1: []}}, id="empty-days"),
        pytest.param({"hours": {7: NINE_TO_FIVE}}, id="weekday-7"),
        pytest.param({"hours": {-1: NINE_TO_FIVE}}, id="weekday-minus-1"),
        pytest.param({"hours": {0: NINE_TO_FIVE}, "holiday_country": "ZZ"}, id="country"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Calendar.model_validate({"id": "broken", **fields})


def test_intervals_that_touch_without_overlapping_are_accepted() -> None:
    calendar = Calendar(id="split", hours={0: [(time(13), time(17)), (time(8), time(13))]})
    monday = datetime(2026, 1, 12, tzinfo=UTC)
    assert business_seconds(calendar, monday, monday + timedelta(days=1)) == 9 * HOUR


@pytest.mark.parametrize("fold", [0, 1])
def test_round_the_clock_time_from_the_missing_hour_is_never_negative(fold: int) -> None:
    start = IN_THE_GAP.replace(fold=fold)  # fold 0: 01:55 UTC, after the jump; fold 1: 00:55
    passed = (utc(AFTER_JUMP) - utc(start)).total_seconds()
    assert business_seconds(ON, start, AFTER_JUMP) == max(passed, 0.0) == 300 * fold


def test_the_repeated_hour_counts_by_the_time_that_passes_not_by_the_wall_clock() -> None:
    first = datetime(2026, 10, 25, 2, 45, tzinfo=STOCKHOLM)  # 00:45 UTC, summer time
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=STOCKHOLM)  # 01:30 UTC, winter time
    assert business_seconds(NIGHT, first, second) == 45 * 60
    assert business_seconds(NIGHT, second, first) == 0
    assert add_business(NIGHT, first, 45 * 60) == utc(second)


NAIVE = datetime(2026, 1, 12, 9)  # a Monday, but where?
NAIVE_CALLS: dict[str, Callable[[], object]] = {
    "business-seconds-start": lambda: business_seconds(SE, NAIVE, at(date(2026, 1, 12), 17)),
    "business-seconds-end": lambda: business_seconds(ON, at(date(2026, 1, 12), 8), NAIVE),
    "add-business": lambda: add_business(ON, NAIVE, 0),
    "closed-until": lambda: closed_until(SE, NAIVE),
    "open-intervals": lambda: open_intervals(SE, NAIVE),
}


@pytest.mark.parametrize("call", NAIVE_CALLS.values(), ids=NAIVE_CALLS.keys())
def test_a_moment_without_a_time_zone_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        call()


def test_the_dst_moments_drawn_cover_both_changes_of_2026_in_each_zone_that_has_them() -> None:
    changes = {(str(zone), begins.isoformat(), str(length)) for zone, begins, length in ODD_HOURS}
    assert changes == {
        ("Europe/Stockholm", "2026-03-29T02:00:00", "1:00:00"),  # missing
        ("Europe/Stockholm", "2026-10-25T02:00:00", "1:00:00"),  # repeated
        ("Europe/Warsaw", "2026-03-29T02:00:00", "1:00:00"),
        ("Europe/Warsaw", "2026-10-25T02:00:00", "1:00:00"),
        ("America/New_York", "2026-03-08T02:00:00", "1:00:00"),
        ("America/New_York", "2026-11-01T01:00:00", "1:00:00"),
        ("Australia/Lord_Howe", "2026-04-05T01:30:00", "0:30:00"),
        ("Australia/Lord_Howe", "2026-10-04T02:00:00", "0:30:00"),
    }
