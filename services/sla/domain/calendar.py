"""Business time: opening hours per weekday in a time zone, public holidays by country (the
`holidays` package) and custom closed days, or 24x7. The arithmetic walks the calendar's open
intervals in UTC, so midnight, weekends, holidays and DST changes need no special cases.

Every entry point turns the moments it is given into UTC instants first: Python compares and
subtracts two datetimes of one zone by wall clock, which inside a DST change's missing or
repeated hour is not the order, nor the time, that really passes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KEY = r"^[a-z0-9][a-z0-9._-]{1,62}$"
ALWAYS_ON = "24x7"
MAX_DAYS = 3_700  # ten years of closed days at most: a calendar that never opens is refused


class Calendar(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    id: str = Field(pattern=KEY)
    name: str = Field(default="", max_length=200)
    time_zone: str = Field(default="UTC", description="IANA zone, e.g. Europe/Stockholm")
    always_on: bool = Field(default=False, description="24x7: every second counts")
    hours: dict[int, list[tuple[time, time]]] = Field(
        default_factory=dict, description="Weekday (0 Monday) -> open intervals, local time"
    )
    holiday_country: str | None = Field(default=None, description="ISO code: SE, PL, RU, GB…")
    holiday_subdivision: str | None = None
    closed_days: list[date] = Field(default_factory=list, description="Custom closed dates")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone}") from None
        return zone

    @model_validator(mode="after")
    def _opens(self) -> Calendar:
        if self.always_on:
            return self
        if set(self.hours) - set(range(7)):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        if not any(self.hours.values()):
            raise ValueError("a calendar needs open hours on some weekday, or always_on")
        for spans in self.hours.values():
            ordered = sorted(spans)
            if any(start >= end for start, end in ordered):
                raise ValueError("an interval must open before it closes (same day)")
            if any(a[1] > b[0] for a, b in zip(ordered, ordered[1:], strict=False)):
                raise ValueError("intervals of a day must not overlap")
        if self.holiday_country:
            _holidays(self.holiday_country, self.holiday_subdivision, 2026)  # a bad code fails
        return self


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


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays, and the de-facto ones where the package knows them (Sweden's
    Christmas, Midsummer and New Year's Eves: offices are closed)."""
    try:
        found = set(holidays.country_holidays(country, subdiv=subdivision, years=year))
    except (NotImplementedError, KeyError) as exc:
        raise ValueError(f"no holidays known for {country}/{subdivision}: {exc}") from None
    try:
        extra = holidays.country_holidays(
            country, subdiv=subdivision, years=year, categories=("de_facto",)
        )
        found |= set(extra)
    except (NotImplementedError, KeyError, ValueError):
        pass  # no de-facto holidays for this country
    return frozenset(found)


def is_closed_day(calendar: Calendar, day: date) -> bool:
    if day in calendar.closed_days:
        return True
    country = calendar.holiday_country
    return bool(country) and day in _holidays(country, calendar.holiday_subdivision, day.year)


def _instant(moment: datetime, name: str) -> datetime:
    """`moment` in UTC; a naive datetime names no instant, so it is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {moment!r}")
    return moment.astimezone(UTC)


def open_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals in UTC, in order, from the local day `start` falls on
    (intervals may begin before `start`)."""
    day = _instant(start, "start").astimezone(ZoneInfo(calendar.time_zone)).date()
    return _intervals_from(calendar, day)


def _intervals_from(calendar: Calendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    zone = ZoneInfo(calendar.time_zone)
    for offset in range(MAX_DAYS):
        current = day + timedelta(days=offset)
        if is_closed_day(calendar, current):
            continue
        for opens, closes in sorted(calendar.hours.get(current.weekday(), [])):
            begin = datetime.combine(current, opens, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(current, closes, tzinfo=zone).astimezone(UTC)
            if end > begin:  # a DST jump can swallow an interval that lies in the gap
                yield begin, end
    raise ValueError(f"calendar {calendar.id} has no open time within {MAX_DAYS} days")


def add_business(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The moment (in UTC) `seconds` of business time after `start`."""
    start = _instant(start, "start")
    if seconds <= 0:
        return start
    if calendar.always_on:  # in UTC: a local day across a DST change is not 24 hours
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for begin, end in open_intervals(calendar, start):
        if end <= start:
            continue
        begin = max(begin, start)
        if end - begin >= left:
            return begin + left
        left -= end - begin
    raise AssertionError("unreachable: open_intervals raises first")


def business_seconds(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Business time between two moments (0 when `end` is not after `start`)."""
    start, end = _instant(start, "start"), _instant(end, "end")
    if end <= start:
        return 0.0
    if calendar.always_on:
        return (end - start).total_seconds()
    total = timedelta()
    for begin, close in open_intervals(calendar, start):
        if begin >= end:
            break
        overlap = min(close, end) - max(begin, start)
        if overlap > timedelta():
            total += overlap
    return total.total_seconds()


QUIET_GRACE = timedelta(minutes=5)


def closed_until(
    calendar: Calendar, now: datetime, grace: timedelta = QUIET_GRACE
) -> datetime | None:
    """When the calendar has been closed for longer than `grace` at `now`, the moment it opens
    again; None while it is open or has just closed (a target due at closing time is still
    announced at once)."""
    now = _instant(now, "now")
    if calendar.always_on:
        return None
    since = now - grace
    for begin, end in open_intervals(calendar, since):
        if end <= since:
            continue
        return None if begin <= now else begin
    raise AssertionError("unreachable: open_intervals raises first")
