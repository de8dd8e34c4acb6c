"""A clock whose due times cannot be planned is kept, never lost: its running targets go on with
`planned` false and the reason (a calendar with too little open time or unreadable, a target too
long to fit), the ticket's events still move it, and it gets its due times back once its
calendar can plan them. Announced once per loss as sla.clock_unplanned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.sla.domain import (
    Calendar,
    Policy,
    SlaClock,
    TargetClock,
    agent_replied,
    always_on,
    business_seconds,
    check,
    default_policies,
    office,
    pause,
    replan,
    resolved,
    resume,
    start,
    unusable,
)
from services.sla.domain.policies import MAX_TARGET_SECONDS
from services.sla.service import Setup, default_calendars
from services.sla.service.unplanned import alerts
from shared.events.sla import (
    SlaClockPauseData,
    SlaClockReplanned,
    SlaClockResumed,
    SlaClockUnplanned,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, 10:00 in Stockholm
HOUR = 3600
SE = office("office", "Europe/Stockholm", "SE")
MICRO = Calendar(id="micro", time_zone="Europe/Stockholm", hours={0: [(time(8), time(8, 0, 0, 1))]})
GOLD = default_policies()["gold/high"]
TEN_YEARS = 10 * 365 * 86_400
LONG = Policy.model_validate(
    GOLD.model_dump() | {"target_seconds": {"first_response": HOUR, "resolution": TEN_YEARS}}
)


def target(clock: SlaClock, name: str) -> TargetClock:
    found = clock.target(name)
    assert found is not None
    return found


def test_a_clock_on_a_calendar_open_a_microsecond_a_week_starts_and_says_why_not_planned() -> None:
    clock = start("t-1", "HD-000001", GOLD, MICRO, T0)
    for name in ("first_response", "resolution"):
        running = target(clock, name)
        assert (running.state, running.planned, running.due_at) == ("running", False, None)
        assert "calendar micro has too little open time" in (running.unplanned_reason or "")
    assert target(clock, "next_update").state == "waiting"
    assert clock.next_check_at is None


def test_a_target_too_long_for_its_calendar_is_unplanned_and_the_others_keep_their_due_times() -> (
    None
):
    clock = start("t-1", None, LONG, SE, T0)
    assert target(clock, "first_response").due_at == T0 + timedelta(hours=1)
    resolution = target(clock, "resolution")
    assert (resolution.planned, resolution.due_at) == (False, None)
    assert clock.next_check_at is not None  # the first response's warnings still come


def test_the_tickets_events_still_move_an_unplanned_clock_and_its_time_counts() -> None:
    clock = start("t-1", None, LONG, SE, T0)
    clock = pause(clock, SE, T0 + timedelta(minutes=10), "waiting for the customer")
    clock = resume(clock, SE, T0 + timedelta(hours=24))  # Tuesday 10:00 in Stockholm
    assert not target(clock, "resolution").planned
    clock, happened = check(clock, SE, T0 + timedelta(hours=25))  # the planned target breaches
    assert [(h.kind, h.target) for h in happened] == [("breached", "first_response")]
    clock, replied = agent_replied(clock, SE, T0 + timedelta(hours=25))
    assert [(h.kind, h.target) for h in replied] == [("missed", "first_response")]
    clock, done = resolved(clock, SE, T0 + timedelta(hours=26))
    resolution = target(clock, "resolution")
    assert (resolution.outcome, resolution.elapsed_seconds) == ("met", 10 * 60 + 2 * HOUR)
    assert [(h.kind, h.target) for h in done] == [("met", "resolution")]


def test_a_clock_moved_to_a_calendar_that_opens_gets_its_due_times_back() -> None:
    clock = start("t-1", None, GOLD, MICRO, T0)
    moved = replan(clock, GOLD, SE, T0 + timedelta(hours=1), was=MICRO)
    first = target(moved, "first_response")
    assert first.planned and first.unplanned_reason is None
    assert first.due_at == T0 + timedelta(hours=2)  # an hour on the office's clock from 10:00
    assert moved.next_check_at is not None


def test_a_stored_calendar_that_cannot_be_read_plans_nothing_and_says_so() -> None:
    setup = Setup(
        default_calendars(),
        {"organization:globex": "pl-office"},
        default_policies(),
        {"pl-office": "hours.0.0: not a pair"},
    )
    chosen = setup.calendar(GOLD, "globex", None)
    assert chosen.id == "pl-office" and setup.calendar_of("pl-office") == chosen
    clock = start("t-1", None, GOLD, chosen, T0)
    reason = target(clock, "resolution").unplanned_reason or ""
    assert "unreadable: hours.0.0: not a pair" in reason
    assert business_seconds(chosen, T0, T0 + timedelta(days=30)) == 0
    assert setup.calendar_of("gone").id == "24x7"


def test_a_loss_is_announced_once_with_the_reasons_and_the_due_times_when_they_come_back() -> None:
    clock = start("t-1", "HD-000001", GOLD, MICRO, T0)
    [lost] = alerts(None, clock, T0, [])
    assert isinstance(lost, SlaClockUnplanned)
    assert [t.name for t in lost.data.targets] == ["first_response", "resolution"]
    assert all("too little open time" in t.reason for t in lost.data.targets)
    assert (lost.data.calendar_id, lost.data.policy_id, lost.subject) == (
        "micro",
        "gold/high",
        "t-1",
    )
    paused = pause(clock, MICRO, T0 + timedelta(hours=1), "waiting")
    resumed = resume(paused, MICRO, T0 + timedelta(hours=2))
    assert alerts(clock, paused, T0, []) == [] and alerts(paused, resumed, T0, []) == []
    fixed = replan(resumed, GOLD, SE, T0 + timedelta(hours=3), was=MICRO)
    [back] = alerts(resumed, fixed, T0, [])
    assert isinstance(back, SlaClockReplanned)
    assert all(t.due_at for t in back.data.targets if t.name != "next_update")
    resumed_fixed = resume(pause(clock, MICRO, T0, "waiting"), SE, T0 + timedelta(hours=1))
    data = SlaClockPauseData(ticket_id="t-1", reason="answered", targets=back.data.targets)
    already = SlaClockResumed.create(source="sla", subject="t-1", time=T0, data=data)
    assert alerts(paused, resumed_fixed, T0, [already]) == []


MICROS_A_DAY = 86_400 * 10**6


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """Any calendar the model accepts, from a microsecond a week to office hours, with closed
    days and holidays, or a stored one that cannot be read, or 24x7."""
    hours = {}
    for day in draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)):
        begin = draw(st.integers(0, MICROS_A_DAY - 2))
        length = draw(st.one_of(st.integers(1, 10), st.integers(1, 9 * 3600 * 10**6)))
        end = min(begin + length, MICROS_A_DAY - 1)
        hours[day] = [(_time(begin), _time(end))]
    drawn = Calendar(
        id="drawn",
        time_zone=draw(st.sampled_from(["UTC", "Europe/Stockholm", "Pacific/Kiritimati"])),
        hours=hours,
        holiday_country=draw(st.sampled_from([None, "SE"])),
        closed_days=draw(st.lists(st.dates(date(2026, 1, 1), date(2036, 12, 31)), max_size=30)),
    )
    return draw(st.sampled_from([drawn, unusable("gone-bad", "corrupt"), always_on()]))


def _time(micros: int) -> time:
    return (datetime.min + timedelta(microseconds=micros)).time()


seconds = st.one_of(st.integers(0, 10 * HOUR), st.integers(0, MAX_TARGET_SECONDS))
moments = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.datetimes(datetime(1, 1, 3), datetime(9999, 12, 29), timezones=st.just(UTC)),
)


@settings(deadline=None, max_examples=30)
@given(calendars(), seconds, seconds, moments)
def test_a_clock_starts_and_moves_on_any_calendar_with_any_target_and_is_planned_or_says_why(
    calendar: Calendar, first: int, resolution: int, at: datetime
) -> None:
    policy = Policy.model_validate(
        GOLD.model_dump() | {"target_seconds": {"first_response": first, "resolution": resolution}}
    )
    clock = start("t-1", None, policy, calendar, at)
    for t in clock.targets:
        if t.state == "running":
            assert (t.due_at is not None) == t.planned
            assert t.planned or t.unplanned_reason
    event("planned" if all(t.planned for t in clock.targets) else "unplanned")
    later = min(at + timedelta(days=3), datetime(9999, 12, 30, tzinfo=UTC))
    clock, _ = check(clock, calendar, later)
    clock = resume(pause(clock, calendar, later, "waiting"), calendar, later)
    clock, _ = resolved(clock, calendar, later)
    assert all(t.state == "stopped" for t in clock.targets)
