"""Events sla publishes on helpdesk.sla.v1."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .common import Priority, ServiceLevel
from .envelope import Event, EventData


class SlaTarget(BaseModel):
    name: str = Field(description="first_response, next_update or resolution")
    target_seconds: int = Field(ge=0, description="Allowed business seconds")
    due_at: datetime | None = Field(default=None, description="Due time as planned now")


class ClockData(EventData):
    ticket_id: str = Field(description="The ticket the clock measures")
    number: str | None = Field(default=None, description="The ticket number")


class SlaClockStartedData(ClockData):
    policy_id: str = Field(description="Policy chosen")
    service_level: ServiceLevel | None = Field(default=None, description="Contract level")
    priority: Priority = Field(description="Ticket priority the targets are for")
    calendar_id: str = Field(description="Business-hours calendar")
    targets: list[SlaTarget] = Field(description="Targets and their due times")


class SlaClockStarted(Event[SlaClockStartedData]):
    type: Literal["sla.clock_started"] = "sla.clock_started"


class SlaClockReplanned(Event[SlaClockStartedData]):
    """Another policy or calendar for a running clock (the priority, level or contract
    changed): the time used stays, the targets and due times are new. Also when targets that
    had no due time (sla.clock_unplanned) get one again."""

    type: Literal["sla.clock_replanned"] = "sla.clock_replanned"


class SlaClockPauseData(ClockData):
    reason: str = Field(description="Why the clock paused or resumed")
    targets: list[SlaTarget] = Field(
        default_factory=list,
        description="Targets and their due times as planned now (none while paused)",
    )


class SlaClockPaused(Event[SlaClockPauseData]):
    type: Literal["sla.clock_paused"] = "sla.clock_paused"


class SlaClockResumed(Event[SlaClockPauseData]):
    type: Literal["sla.clock_resumed"] = "sla.clock_resumed"


class SlaTargetData(ClockData):
    target: str = Field(description="first_response, next_update or resolution")
    due_at: datetime | None = Field(default=None, description="Due time")
    elapsed_seconds: int = Field(default=0, ge=0, description="Business seconds used")
    fraction: float | None = Field(default=None, description="Share of the target used")
    reason: str = Field(default="", description="Why (for at-risk predictions)")


class SlaWarning(Event[SlaTargetData]):
    type: Literal["sla.warning"] = "sla.warning"


class SlaAtRisk(Event[SlaTargetData]):
    type: Literal["sla.at_risk"] = "sla.at_risk"


class SlaBreached(Event[SlaTargetData]):
    type: Literal["sla.breached"] = "sla.breached"


class SlaMet(Event[SlaTargetData]):
    type: Literal["sla.met"] = "sla.met"


class SlaTargetStoppedData(SlaTargetData):
    outcome: Literal["met", "missed"] = Field(description="In time or not")


class SlaTargetStopped(Event[SlaTargetStoppedData]):
    """A target stopped (first reply, resolution, a next-update round ended), with the business
    time it used, final: what MTTA and MTTR in business time are made of (an addition to the
    architecture's list)."""

    type: Literal["sla.target_stopped"] = "sla.target_stopped"


class SlaUnplannedTarget(BaseModel):
    name: str = Field(description="first_response, next_update or resolution")
    target_seconds: int = Field(ge=0, description="Allowed business seconds")
    reason: str = Field(description="Why no due time could be planned")


class SlaClockUnplannedData(ClockData):
    policy_id: str = Field(description="Policy of the clock")
    calendar_id: str = Field(description="Business-hours calendar the clock runs on")
    targets: list[SlaUnplannedTarget] = Field(
        description="The running targets that have just lost (or never had) a due time"
    )


class SlaClockUnplanned(Event[SlaClockUnplannedData]):
    """A running target's due time could not be planned: its calendar has too little open time
    (or cannot be read), or the target does not fit in the ten years the planner looks ahead.
    The clock is kept and goes on counting business time, with no due time, warnings or breach
    for that target, until it is planned again (then sla.clock_replanned brings the due
    times). An alert for whoever keeps the calendars and policies (an addition to the
    architecture's list, decision 003)."""

    type: Literal["sla.clock_unplanned"] = "sla.clock_unplanned"


SLA_EVENTS: tuple[type[Event[Any]], ...] = (
    SlaClockStarted,
    SlaClockReplanned,
    SlaClockPaused,
    SlaClockResumed,
    SlaWarning,
    SlaAtRisk,
    SlaBreached,
    SlaMet,
    SlaTargetStopped,
    SlaClockUnplanned,
)
