"""Calendars and policies saved by an admin: beyond their shape (the models refuse what the
planner cannot read), a calendar must be open long enough in every year the planner looks
ahead, and a policy's targets must fit on its calendar; otherwise 422 naming the field."""

from __future__ import annotations

from shared.errors import FieldInvalid

from ..domain import Calendar, Policy, Refusal, too_little_open_time, unreachable_target
from . import SlaDeps, current_setup, forget_setup


async def save_calendar(calendar: Calendar, deps: SlaDeps) -> Calendar:
    _refuse(too_little_open_time(calendar, deps.clock.now(), deps.min_open_hours * 3600))
    await deps.setup_store.put_calendar(calendar)
    forget_setup(deps)
    return calendar


async def save_policy(policy: Policy, deps: SlaDeps) -> Policy:
    setup = await current_setup(deps)
    if policy.calendar_id not in setup.calendars:
        raise FieldInvalid("calendar_id", f"no calendar {policy.calendar_id}")
    calendar = setup.calendar_of(policy.calendar_id)
    _refuse(unreachable_target(policy, calendar, deps.clock.now()))
    await deps.setup_store.put_policy(policy)
    forget_setup(deps)
    return policy


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise FieldInvalid(refusal.field, refusal.message)
