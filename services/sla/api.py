"""SLA's HTTP routes: clocks as they stand, policies, calendars and their assignment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shared.auth import STAFF, Principal, Role, require
from shared.errors import DomainError, NotFound
from shared.events.common import Priority, ServiceLevel
from shared.paging import BY_ITEM_ID, Order, Page, Paging, Position, page, slice_of
from shared.runtime import app_deps

from .domain import Calendar, Pause, Policy, SlaClock
from .service import SlaDeps, current_setup, forget_setup, get_clock
from .service.configure import save_calendar, save_policy
from .service.recalc import RecalculationReport, RecalculationRequest, recalculate

router = APIRouter(prefix="/v1/sla", tags=["sla"])
Deps = Annotated[SlaDeps, Depends(app_deps)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]


class TargetView(BaseModel):
    name: str
    state: str
    target_seconds: int
    elapsed_seconds: int = Field(description="Business seconds used so far")
    remaining_seconds: int = Field(description="Business seconds left (0 once due)")
    due_at: datetime | None
    breached: bool
    outcome: str | None
    round: int
    planned: bool = Field(description="False: running, but no due time could be planned")
    unplanned_reason: str | None = Field(description="Why not (the calendar, the target)")


class ClockView(BaseModel):
    ticket_id: str
    number: str | None
    policy_id: str
    service_level: ServiceLevel | None
    priority: Priority
    calendar_id: str
    started_at: datetime
    state: Literal["running", "paused", "stopped"]
    pauses: list[Pause]
    next_check_at: datetime | None
    quiet_hours: bool = Field(description="Announcements wait for the calendar to open")
    held_until: datetime | None = Field(
        description="Warnings or breaches found while the calendar was closed, announced then"
    )
    planned: bool = Field(
        description="Every running target has a due time; false: see the targets' reasons"
    )
    targets: list[TargetView]


@router.get("/clocks/{ticket_id}", response_model=ClockView)
async def clock_view(ticket_id: str, _: Staff, deps: Deps) -> ClockView:
    """A ticket's SLA clock now: each target's state, time used and left, due time, pauses."""
    clock: SlaClock = await get_clock(ticket_id, deps)
    setup = await current_setup(deps)
    calendar = setup.calendar_of(clock.calendar_id)
    now = deps.clock.now()
    targets = []
    for t in clock.targets:
        used = int(t.used(calendar, now))
        targets.append(
            TargetView(
                name=t.name,
                state=t.state,
                target_seconds=t.target_seconds,
                elapsed_seconds=used,
                remaining_seconds=max(t.target_seconds - used, 0),
                due_at=t.due_at,
                breached=t.breached,
                outcome=t.outcome,
                round=t.round,
                planned=t.planned,
                unplanned_reason=t.unplanned_reason,
            )
        )
    states = {t.state for t in clock.targets}
    state = "paused" if clock.paused else "running" if states & {"running"} else "stopped"
    return ClockView(
        **clock.model_dump(
            exclude={"targets", "paused", "warn_at", "revision", "queue", "organization_id"}
        ),
        state=state,
        planned=all(t.planned for t in clock.targets if t.state == "running"),
        targets=targets,
    )


@router.get("/policies", response_model=Page[Policy])
async def list_policies(_: Staff, deps: Deps, paging: Paging) -> Page[Policy]:
    """Targets (first response, next update, resolution) per service level and priority, by id."""
    return page(slice_of((await current_setup(deps)).policies.values(), BY_ITEM_ID, paging))


@router.put("/policies/{level}/{priority}", response_model=Policy)
async def put_policy(
    level: ServiceLevel, priority: Priority, body: Policy, _: Admin, deps: Deps
) -> Policy:
    """Change a policy's targets, calendar or warning fractions; clocks started later use it."""
    if (body.service_level, body.priority, body.id) != (level, priority, f"{level}/{priority}"):
        raise DomainError("the body must name the same level, priority and id as the path")
    return await save_policy(body, deps)


@router.get("/calendars", response_model=Page[Calendar])
async def list_calendars(_: Staff, deps: Deps, paging: Paging) -> Page[Calendar]:
    """Business-hours calendars: opening hours, time zone, holidays; by id."""
    return page(slice_of((await current_setup(deps)).calendars.values(), BY_ITEM_ID, paging))


@router.put("/calendars/{calendar_id}", response_model=Calendar)
async def put_calendar(calendar_id: str, body: Calendar, _: Admin, deps: Deps) -> Calendar:
    """Add or change a calendar (refused unless open long enough in every coming year)."""
    if body.id != calendar_id:
        raise DomainError(f"the path names {calendar_id} but the body {body.id}")
    return await save_calendar(body, deps)


class AssignmentRequest(BaseModel):
    calendar_id: str | None = Field(description="The calendar; null removes the assignment")


@router.put("/calendar-assignments/{kind}/{key}", response_model=AssignmentRequest)
async def assign_calendar(
    kind: Literal["organization", "queue"],
    key: str,
    body: AssignmentRequest,
    _: Admin,
    deps: Deps,
) -> AssignmentRequest:
    """A customer's (its contract's) or a queue's calendar; the customer's wins."""
    if body.calendar_id and body.calendar_id not in (await current_setup(deps)).calendars:
        raise NotFound(f"no calendar {body.calendar_id}")
    await deps.setup_store.assign(f"{kind}:{key}", body.calendar_id)
    forget_setup(deps)
    return body


class SchedulerView(BaseModel):
    holder: str | None = Field(description="The replica holding the scheduler's lease")
    lease_until: datetime | None
    checked_up_to: datetime | None = Field(description="Every timer up to here has been read")


@router.get("/scheduler", response_model=SchedulerView)
async def scheduler_view(_: Staff, deps: Deps) -> SchedulerView:
    """Which replica fires the clocks, and how far it has got."""
    lease = await deps.timers.lease()
    return SchedulerView(
        holder=lease[0] if lease else None,
        lease_until=lease[1] if lease else None,
        checked_up_to=await deps.timers.cursor(),
    )


class RiskView(BaseModel):
    ticket_id: str
    number: str | None
    queue: str | None
    priority: Priority
    target: str
    due_at: datetime | None
    reason: str


NEVER_DUE = datetime.max.replace(tzinfo=UTC)  # unplanned targets sort after the rest
SOONEST_DUE = Order((("due_at", 1, datetime), ("ticket_id", 1, str), ("target", 1, str)))


def _due(risk: RiskView) -> Position:
    return (risk.due_at or NEVER_DUE, risk.ticket_id, risk.target)


@router.get("/at-risk", response_model=Page[RiskView])
async def at_risk(_: Staff, deps: Deps, paging: Paging) -> Page[RiskView]:
    """Tickets that will probably miss a target, soonest due first (then by ticket and
    target), with the reason."""
    found = [
        RiskView(
            ticket_id=c.ticket_id,
            number=c.number,
            queue=c.queue,
            priority=c.priority,
            target=t.name,
            due_at=t.due_at,
            reason=t.risk_reason or "",
        )
        for c in await deps.store.watched_clocks()  # every clock with a target running
        for t in c.targets
        if t.at_risk and t.state == "running" and not t.breached
    ]
    # the watched set is the live set the predictor reads whole every minute (decision 001)
    return page(slice_of(found, SOONEST_DUE, paging, key=_due))


@router.post("/recalculations", response_model=RecalculationReport)
async def recalculations(body: RecalculationRequest, _: Admin, deps: Deps) -> RecalculationReport:
    """Replay the affected clocks' events under today's policies and calendars; report the
    outcomes that change, and with `apply` store them."""
    return await recalculate(body, deps)
