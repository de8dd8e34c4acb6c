"""What a calendar's days are made of: opening hours and closed days as they are accepted (times
of day without an offset, intervals that open before they close, the intervals of a day apart
and sorted, plain dates; a refusal names where it is, hours.0.1.0 or closed_days.3, so the 422
points at it), and the public holidays of a country."""

from __future__ import annotations

import re
from bisect import bisect_left
from datetime import date, datetime, time
from functools import lru_cache
from typing import Annotated, Any

import holidays
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# not JSON Schema's "time" format: that is RFC 3339's full-time, which has an offset
TIME_OF_DAY = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "description": "A wall-clock time without an offset, HH:MM[:SS[.ffffff]]",
    "examples": ["08:00", "17:30:00"],
}
MAX_INTERVALS = 24  # a day's intervals at most


def _time_of_day(value: Any) -> Any:
    """Only a string or a time: pydantic reads a number as seconds after midnight in UTC,
    an instant with an offset, not a wall-clock time."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError('a time of day is written "08:00" or "17:30:00"')
    if value.strip().startswith("24"):
        raise ValueError("24:00 is not a time of day: close at 23:59:59, or use always_on")
    return value.strip()


def _without_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError(
            "a time of day has no offset: opening hours are wall-clock times in the "
            "calendar's time_zone"
        )
    return value


def _opens_first(interval: tuple[time, time]) -> tuple[time, time]:
    opens, closes = interval
    if opens >= closes:
        raise ValueError(f"an interval opens before it closes, on the same day: {opens}-{closes}")
    return interval


def _apart(spans: list[tuple[time, time]]) -> list[tuple[time, time]]:
    ordered = sorted(spans)
    for (opens, closes), (after, _) in zip(ordered, ordered[1:], strict=False):
        if closes > after:
            raise ValueError(f"the intervals of a day must not overlap: {opens}-{closes}, {after}")
    return ordered


def _plain_date(value: Any) -> Any:
    """A date only: a date and time names an instant, whose day depends on the zone."""
    if isinstance(value, datetime):
        raise ValueError("a closed day is a date, without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and PLAIN_DATE.fullmatch(value.strip()):
        return value.strip()
    raise ValueError('a closed day is a date "YYYY-MM-DD" in the calendar\'s time_zone')


LocalTime = Annotated[
    time,
    BeforeValidator(_time_of_day),
    AfterValidator(_without_offset),
    WithJsonSchema(TIME_OF_DAY),
]
Interval = Annotated[tuple[LocalTime, LocalTime], AfterValidator(_opens_first)]
DayHours = Annotated[list[Interval], Field(max_length=MAX_INTERVALS), AfterValidator(_apart)]
Weekday = Annotated[int, Field(ge=0, le=6)]
ClosedDay = Annotated[date, BeforeValidator(_plain_date)]


@lru_cache(maxsize=256)
def holidays_of(country: str, subdivision: str | None, year: int) -> frozenset[date]:
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


def closed(days: list[date], country: str | None, subdivision: str | None, day: date) -> bool:
    """A custom closed day (`days` sorted, looked up by bisection) or a public holiday."""
    at = bisect_left(days, day)
    if at < len(days) and days[at] == day:
        return True
    return bool(country) and day in holidays_of(country, subdivision, day.year)
