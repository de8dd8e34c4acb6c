"""SLA's storage: clocks (revisioned, with their outbox) and the watched set, the timer buckets
the scheduler reads by second, its lease and cursor, the events kept per ticket, calendars,
their assignments and policy overrides. Every hot read is by _id."""

from __future__ import annotations

from pymongo import ASCENDING

from shared.db import IndexSpec

from .clocks import CLOCKS, WATCHED, ClockStore, MongoClockStore
from .inputs import HELD, INPUTS, InputStore, MongoInputStore
from .setup import ASSIGNMENTS, CALENDARS, POLICIES, Loaded, MongoSetupStore, SetupStore
from .timers import SCHEDULER, TIMERS, MongoTimerStore, TimerStore, second_of

# The only queries not by _id: a recalculation's scope (an admin's request). The rest read by
# _id or read a small collection whole (setup, the watched set, the outbox markers).
INDEXES: list[IndexSpec] = [
    (CLOCKS, [("policy_id", ASCENDING)], False),
    (CLOCKS, [("calendar_id", ASCENDING)], False),
]

__all__ = [
    "ASSIGNMENTS",
    "CALENDARS",
    "CLOCKS",
    "HELD",
    "INDEXES",
    "INPUTS",
    "POLICIES",
    "SCHEDULER",
    "TIMERS",
    "WATCHED",
    "ClockStore",
    "InputStore",
    "Loaded",
    "MongoClockStore",
    "MongoInputStore",
    "MongoSetupStore",
    "MongoTimerStore",
    "SetupStore",
    "TimerStore",
    "second_of",
]
