"""A ticket's events move its clock (domain.replay.advance): triaged starts or re-plans it,
the agent's public reply, waiting for the customer, resolved, reopened, closed. Each event is
kept as the clock's input, so the clock can be recalculated from its history."""

from __future__ import annotations

from typing import Any

from shared.events import Event
from shared.events.sla import (
    SlaClockPaused,
    SlaClockPauseData,
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockStarted,
)
from shared.events.triage import TicketTriaged

from .. import metrics
from ..domain import SlaClock
from ..domain.replay import advance
from ..store import CLOCKS
from . import Change, Setup, SlaDeps, announced, change_clock, current_setup, schedule, unplanned
from .unplanned import planned_data, targets_data


async def on_event(event: Event[Any], ticket_id: str, deps: SlaDeps) -> SlaClock | None:
    """Keep the event as an input of the clock, then apply it. An event that comes before the
    clock started (intake's and triage's topics are read independently) is held and applied,
    in time order, right after the start."""
    await deps.inputs.remember(ticket_id, event)
    if isinstance(event, TicketTriaged):  # the first starts the clock (a keyed insert)
        started = await _start(event, ticket_id, deps)
        if started is not None:
            for early in await deps.inputs.held(ticket_id):
                if await deps.inputs.release(ticket_id, early):
                    started = await _apply(early, ticket_id, deps) or started
            return started
    applied = await _apply(event, ticket_id, deps)
    if applied is None and not isinstance(event, TicketTriaged):
        await deps.inputs.hold(ticket_id, event)
        started_meanwhile = await deps.store.get_clock(ticket_id) is not None
        if started_meanwhile and await deps.inputs.release(ticket_id, event):
            applied = await _apply(event, ticket_id, deps)
    return applied


async def _apply(event: Event[Any], ticket_id: str, deps: SlaDeps) -> SlaClock | None:
    """The clock after the event; None when the ticket has no clock yet."""
    now = deps.clock.now()

    def moved(clock: SlaClock, setup: Setup) -> Change | None:
        step = advance(clock, event, setup, event.time)
        if step.clock is None or (step.clock == clock and not step.happened):
            return None
        after = step.clock
        events = announced(clock, step.happened, now)
        if step.note in ("paused", "resumed"):
            reason = "waiting for the customer" if step.note == "paused" else "answered"
            kind = SlaClockPaused if step.note == "paused" else SlaClockResumed
            data = SlaClockPauseData(
                ticket_id=clock.ticket_id,
                number=clock.number,
                reason=reason,
                targets=targets_data(after),
            )
            events.append(
                kind.create(
                    source="sla",
                    subject=clock.ticket_id,
                    time=now,
                    correlation_id=event.correlationid,
                    data=data,
                )
            )
        if step.note == "replanned":  # the worklists order by the new due times
            events.append(
                SlaClockReplanned.create(
                    source="sla",
                    subject=clock.ticket_id,
                    time=now,
                    correlation_id=event.correlationid,
                    data=planned_data(after),
                )
            )
        return after, events

    return await change_clock(ticket_id, deps, moved)


async def _start(event: Event[Any], ticket_id: str, deps: SlaDeps) -> SlaClock | None:
    step = advance(None, event, await current_setup(deps), event.time)
    clock = step.clock
    if clock is None:
        return None  # an event before ticket.triaged: the clock starts with that one
    now = deps.clock.now()
    started = SlaClockStarted.create(
        source="sla",
        subject=ticket_id,
        time=now,
        correlation_id=event.correlationid,
        data=planned_data(clock),
    )
    # a clock that cannot be planned is started all the same, and announced as such
    events = [started, *unplanned.alerts(None, clock, now, [started], event.correlationid)]
    async with deps.relay.writing(CLOCKS, clock.ticket_id):
        inserted = await deps.store.insert_clock(clock, events)
    if not inserted:
        return None  # started before: this ticket.triaged re-plans it
    metrics.CLOCKS_STARTED.labels(clock.policy_id).inc()
    unplanned.report(events)
    await schedule(None, clock, deps)
    return clock
