"""Rules a calendar or a policy must pass when it is saved, beyond its shape: a calendar open
long enough in each year the planner looks ahead, a policy's targets reachable on its
calendar. Measured with the calendar's own business-time arithmetic, from `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .calendar import MAX_DAYS, Calendar, Unplannable, add_business, business_seconds
from .policies import Policy

YEAR = timedelta(days=365)
YEARS_AHEAD = MAX_DAYS // 365  # as far as the planner looks for open time


@dataclass(frozen=True)
class Refusal:
    """Why a calendar or policy cannot be saved, and the field to change."""

    field: str
    message: str


def too_little_open_time(
    calendar: Calendar, now: datetime, minimum_seconds: float
) -> Refusal | None:
    """A refusal when, in one of the next YEARS_AHEAD years from `now`, the calendar is open
    less than `minimum_seconds` (a 24x7 calendar always passes)."""
    short = _short_year(calendar, now, minimum_seconds)
    if short is None:
        return None
    begins, seconds = short
    needed = f"at least {minimum_seconds / 3600:g} h a year are needed"
    return Refusal(
        _blamed(calendar, now, minimum_seconds),
        f"open {_amount(seconds)} in the year from {begins:%Y-%m-%d}: {needed}",
    )


def _amount(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 36 else f"{seconds:.6g} s"


def _short_year(calendar: Calendar, now: datetime, minimum: float) -> tuple[datetime, float] | None:
    if calendar.always_on:
        return None
    for year in range(YEARS_AHEAD):
        begins = now + year * YEAR
        seconds = business_seconds(calendar, begins, begins + YEAR)
        if seconds < minimum:
            return begins, seconds
    return None


def _blamed(calendar: Calendar, now: datetime, minimum: float) -> str:
    """The field to change: the closed days, or the holidays, when the hours would do
    without them; else the hours."""
    without_days = calendar.model_copy(update={"closed_days": []})
    if calendar.closed_days and _short_year(without_days, now, minimum) is None:
        return "closed_days"
    plain = without_days.model_copy(update={"holiday_country": None, "holiday_subdivision": None})
    if calendar.holiday_country and _short_year(plain, now, minimum) is None:
        return "holiday_country"
    return "hours"


def unreachable_target(policy: Policy, calendar: Calendar, now: datetime) -> Refusal | None:
    """A refusal when a target started at `now` could not be planned on `calendar`."""
    for name, seconds in policy.target_seconds.items():
        try:
            add_business(calendar, now, seconds)
        except Unplannable as exc:
            return Refusal(f"target_seconds.{name}", f"cannot be planned on {calendar.id}: {exc}")
    return None
