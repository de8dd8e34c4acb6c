"""Business time: opening hours per weekday in a time zone, public holidays by country (the
`holidays` package) and custom closed days, or 24x7. The arithmetic walks the calendar's open
intervals in UTC, so midnight, weekends, holidays and DST changes need no special cases.

Every entry point turns the moments it is given into UTC instants first: Python compares and
subtracts two datetimes of one zone by wall clock, which inside a DST change's missing or
repeated hour is not the order, nor the time, that really passes. What cannot be planned (no
open time within MAX_DAYS, a moment past the last day a date can name) raises Unplannable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from shared.strict import StrictBool, Trimmed

from .hours import ClosedDay, DayHours, Interval, Weekday, closed, holidays_of

KEY = r"^[a-z0-9][a-z0-9._-]{1,62}$"
ALWAYS_ON = "24x7"
MAX_DAYS = 3_700  # ten years of closed days at most: the planner looks no further ahead
OPEN_HOURS_NEEDED = "open hours on some weekday are needed, or always_on"


class Unplannable(ValueError):
    """No moment can be planned: the calendar has no open time within MAX_DAYS, or the moment
    lies beyond the dates Python can name."""


class Calendar(Trimmed):
    """A business-hours calendar. Every time in it is local to `time_zone`: the times of day in
    `hours` are wall-clock times without an offset ("08:00", "17:30:00"), and `closed_days` are
    plain dates ("2026-12-24"), both read in the calendar's zone, so a DST change moves them with
    the zone. A time with an offset ("08:00+02:00", "08:00Z") or a number, a date with a time,
    and "24:00" are refused. Each interval opens before it closes on the same day; the
    intervals of a day may touch but not overlap, and are kept sorted, as are the closed days.
    When saved, a calendar that is not 24x7 must be open for at least
    HELPDESK_SLA_MIN_OPEN_HOURS_PER_YEAR hours (52, one a week, by default) in each of the next
    ten years, holidays and closed days counted."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    id: str = Field(pattern=KEY)
    name: str = Field(default="", max_length=200)
    time_zone: str = Field(
        default="UTC", max_length=64, description="IANA zone, e.g. Europe/Stockholm"
    )
    always_on: StrictBool = Field(default=False, description="24x7: every second counts")
    hours: dict[Weekday, DayHours] = Field(
        default_factory=dict,
        validate_default=True,
        description="Weekday (0 Monday) -> open intervals [opens, closes], local wall-clock "
        'times without an offset ("08:00", "17:00:00")',
    )
    holiday_country: str | None = Field(
        default=None, max_length=8, description="ISO code: SE, PL, RU, GB…"
    )
    holiday_subdivision: str | None = Field(
        default=None, max_length=16, description="The country's subdivision (US: CA…)"
    )
    closed_days: list[ClosedDay] = Field(
        default_factory=list,
        max_length=MAX_DAYS,
        description='Custom closed dates, local to time_zone ("2026-12-24"; no time part)',
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {zone}") from None
        return zone

    @field_validator("hours")
    @classmethod
    def _opens(
        cls, hours: dict[int, list[Interval]], info: ValidationInfo
    ) -> dict[int, list[Interval]]:
        if not info.data.get("always_on") and not any(hours.values()):
            raise ValueError(OPEN_HOURS_NEEDED)
        return dict(sorted(hours.items()))

    @field_validator("holiday_country")
    @classmethod
    def _country(cls, country: str | None) -> str | None:
        if country:
            holidays_of(country, None, 2026)  # a bad code fails
        return country or None

    @field_validator("holiday_subdivision")
    @classmethod
    def _subdivision(cls, subdivision: str | None, info: ValidationInfo) -> str | None:
        if not subdivision:
            return None
        if "holiday_country" not in info.data:
            return subdivision  # the country was refused: that is the error to report
        country = info.data["holiday_country"]
        if not country:
            raise ValueError("a subdivision needs its holiday_country")
        holidays_of(country, subdivision, 2026)
        return subdivision

    @field_validator("closed_days")
    @classmethod
    def _days(cls, days: list[date]) -> list[date]:
        return sorted(set(days))  # sorted: is_closed_day looks a day up by bisection


def always_on() -> Calendar:
    return Calendar(id=ALWAYS_ON, name="24x7", always_on=True)


def office(calendar_id: str, zone: str, country: str | None, name: str = "") -> Calendar:
    """Monday to Friday, 08:00 to 17:00 local time, public holidays of the country closed."""
    day = [(time(8), time(17))]
    return Calendar(
        id=calendar_id,
        name=name,
        time_zone=zone,
        hours=dict.fromkeys(range(5), day),
        holiday_country=country,
    )


def unusable(calendar_id: str, reason: str) -> Calendar:
    """A stand-in for a stored calendar that cannot be read: it has no open time, so a clock
    on it is kept, unplanned, with the reason, until the calendar is fixed."""
    return Calendar.model_construct(id=calendar_id, name=f"unreadable: {reason}"[:200], hours={})


def is_closed_day(calendar: Calendar, day: date) -> bool:
    country, subdivision = calendar.holiday_country, calendar.holiday_subdivision
    return closed(calendar.closed_days, country, subdivision, day)


def _instant(moment: datetime, name: str) -> datetime:
    """`moment` in UTC; a naive datetime names no instant, so it is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {moment!r}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Unplannable(f"{name} {moment} lies beyond the dates that can be named") from None


def _local_day(calendar: Calendar, moment: datetime) -> date:
    try:
        return moment.astimezone(ZoneInfo(calendar.time_zone)).date()
    except OverflowError:  # the first or last day a date can name, in a zone off UTC
        return moment.date()


def _day(calendar: Calendar, zone: ZoneInfo, day: date) -> list[tuple[datetime, datetime]]:
    """The open intervals of one local day in UTC (none on a closed day, nor at the edges of
    the dates that can be named)."""
    if is_closed_day(calendar, day):
        return []
    found = []
    for opens, closes in calendar.hours.get(day.weekday(), []):
        try:
            begin = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
        except OverflowError:
            continue
        if end > begin:  # a DST jump can swallow an interval that lies in the gap
            found.append((begin, end))
    return found


def open_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals in UTC, in order, from the local day `start` falls on
    (intervals may begin before `start`); Unplannable once none is found within MAX_DAYS."""
    return _intervals_from(calendar, _local_day(calendar, _instant(start, "start")))


def _intervals_from(calendar: Calendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    if not any(calendar.hours.values()):
        raise Unplannable(f"calendar {calendar.id} has no opening hours ({calendar.name})")
    zone = ZoneInfo(calendar.time_zone)
    for offset in range(MAX_DAYS):
        try:
            current = day + timedelta(days=offset)
        except OverflowError:
            raise Unplannable(f"calendar {calendar.id}: no day to plan after {day}") from None
        yield from _day(calendar, zone, current)
    raise Unplannable(f"calendar {calendar.id} has too little open time within {MAX_DAYS} days")


def add_business(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The moment (in UTC) `seconds` of business time after `start`."""
    start = _instant(start, "start")
    if seconds <= 0:
        return start
    try:
        left = timedelta(seconds=seconds)
        if calendar.always_on:  # in UTC: a local day across a DST change is not 24 hours
            return start + left
    except OverflowError:
        raise Unplannable(
            f"{seconds} s after {start} lies beyond the dates that can be named"
        ) from None
    for begin, end in open_intervals(calendar, start):
        if end <= start:
            continue
        begin = max(begin, start)
        if end - begin >= left:
            return begin + left
        left -= end - begin
    raise AssertionError("unreachable: open_intervals raises first")


def business_seconds(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Business time between two moments (0 when `end` is not after `start`). The walk ends
    at `end`: it needs no open time ahead, so any calendar answers."""
    start, end = _instant(start, "start"), _instant(end, "end")
    if end <= start:
        return 0.0
    if calendar.always_on:
        return (end - start).total_seconds()
    zone = ZoneInfo(calendar.time_zone)
    day, last = _local_day(calendar, start), _local_day(calendar, end)
    total = timedelta()
    while True:
        for begin, close in _day(calendar, zone, day):
            overlap = min(close, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        if day >= last:
            return total.total_seconds()
        day += timedelta(days=1)


QUIET_GRACE = timedelta(minutes=5)


def closed_until(
    calendar: Calendar, now: datetime, grace: timedelta = QUIET_GRACE
) -> datetime | None:
    """When the calendar has been closed for longer than `grace` at `now`, the moment it opens
    again; None while it is open or has just closed (a target due at closing time is still
    announced at once), and when it never opens again within MAX_DAYS (nothing to wait for)."""
    now = _instant(now, "now")
    if calendar.always_on:
        return None
    since = now - grace
    try:
        for begin, end in open_intervals(calendar, since):
            if end <= since:
                continue
            return None if begin <= now else begin
    except Unplannable:
        return None
    raise AssertionError("unreachable: open_intervals raises first")
