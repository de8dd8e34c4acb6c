"""A ticket's events applied to its clock, one at a time: what the live service does as the
events arrive, and what a recalculation does over the ticket's whole history with a changed
policy or calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.events import Event
from shared.events.common import AuthorType, Priority, ServiceLevel, TicketStatus, Visibility
from shared.events.intake import TicketMessageAdded
from shared.events.triage import (
    TicketClosed,
    TicketReopened,
    TicketResolved,
    TicketStatusChanged,
    TicketTriaged,
)

from . import clock as rules
from .calendar import Calendar
from .clock import Happening, SlaClock, check
from .policies import Policy

Note = Literal["started", "replanned", "paused", "resumed"]


class Setup(Protocol):
    def calendar_of(self, calendar_id: str) -> Calendar: ...
    def policy(self, level: ServiceLevel | None, priority: Priority) -> Policy: ...
    def calendar(
        self, policy: Policy, organization_id: str | None, queue: str | None
    ) -> Calendar: ...


@dataclass
class Step:
    clock: SlaClock | None
    happened: list[Happening] = field(default_factory=list)
    note: Note | None = None


def advance(clock: SlaClock | None, event: Event[Any], setup: Setup, at: datetime) -> Step:
    """The clock after one of the ticket's events (`at`: when it happened)."""
    if isinstance(event, TicketTriaged):
        triaged = event.data
        policy = setup.policy(triaged.service_level, triaged.priority)
        calendar = setup.calendar(policy, triaged.organization_id, triaged.queue)
        if clock is None:
            started = rules.start(
                triaged.ticket_id,
                triaged.number,
                policy,
                calendar,
                at,
                triaged.organization_id,
                triaged.queue,
            )
            return Step(started, note="started")
        if (policy.id, calendar.id) == (clock.policy_id, clock.calendar_id):
            return Step(clock)
        was = _calendar(clock, setup)
        return Step(rules.replan(clock, policy, calendar, at, was), note="replanned")
    if clock is None:
        return Step(None)
    calendar = _calendar(clock, setup)
    if isinstance(event, TicketStatusChanged):
        waiting = TicketStatus.PENDING_CUSTOMER
        if event.data.to_status is waiting and not clock.paused:
            return Step(rules.pause(clock, calendar, at, "waiting for the customer"), note="paused")
        if event.data.from_status is waiting and clock.paused:
            return Step(rules.resume(clock, calendar, at), note="resumed")
        return Step(clock)
    if isinstance(event, TicketMessageAdded):
        message = event.data
        agent = message.author_type is AuthorType.AGENT
        if not agent or message.visibility is not Visibility.PUBLIC:
            return Step(clock)
        after, happened = rules.agent_replied(clock, calendar, at)
        return Step(after, happened)
    if isinstance(event, TicketResolved | TicketClosed):
        after, happened = rules.resolved(clock, calendar, at)
        return Step(after, happened)
    if isinstance(event, TicketReopened):
        return Step(rules.reopened(clock, calendar, at))
    return Step(clock)


def replay(events: list[Event[Any]], setup: Setup, now: datetime) -> SlaClock | None:
    """The clock a ticket would have had under `setup`, from its events, checked up to `now`
    (the state, not notifications: nothing is held for quiet hours)."""
    clock: SlaClock | None = None
    for event in sorted(events, key=lambda e: e.time):
        if clock is not None:
            clock, _ = check(clock, _calendar(clock, setup), event.time, hold=False)
        clock = advance(clock, event, setup, event.time).clock
    if clock is not None:
        clock, _ = check(clock, _calendar(clock, setup), now, hold=False)
    return clock


def _calendar(clock: SlaClock, setup: Setup) -> Calendar:
    return setup.calendar_of(clock.calendar_id)
