"""A ticket's SLA clock: targets start, pause, stop and start over on the ticket's events, and each
warning and breach is announced once. Platinum/highest (15 min / 1 h / 4 h) runs on 24x7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.sla.domain.calendar import Calendar, always_on, office
from services.sla.domain.clock import (
    Happening,
    Pause,
    SlaClock,
    TargetClock,
    agent_replied,
    check,
    pause,
    reopened,
    replan,
    resolved,
    resume,
    start,
)
from services.sla.domain.policies import Policy, default_policies
from services.sla.domain.replay import replay
from services.sla.service import Setup
from shared.events.common import Level, Priority, ServiceLevel, TicketStatus, TicketType
from shared.events.triage import TicketTriaged, TicketTriagedData

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
ON = always_on()
SE = office("office", "Europe/Stockholm", "SE")
POLICIES = default_policies()
PLATINUM = POLICIES["platinum/highest"]
WAITING = "waiting for customer"


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def new_clock(policy: Policy = PLATINUM, calendar: Calendar = ON, now: datetime = T0) -> SlaClock:
    return start("t-1", "HD-000001", policy, calendar, now)


def target(clock: SlaClock, name: str) -> TargetClock:
    return next(t for t in clock.targets if t.name == name)


def said(happened: list[Happening]) -> list[tuple[str, str]]:
    return [(h.kind, h.target) for h in happened]


def checked(clock: SlaClock, *at: float) -> tuple[SlaClock, list[list[tuple[str, str]]]]:
    heard = []
    for m in at:
        clock, happened = check(clock, ON, minutes(m))
        heard.append(said(happened))
    return clock, heard


def replied(clock: SlaClock, m: float) -> tuple[SlaClock, list[tuple[str, str]]]:
    clock, happened = agent_replied(clock, ON, minutes(m))
    return clock, said(happened)


def test_a_new_clock_runs_first_response_and_resolution_and_waits_for_the_next_update() -> None:
    clock = new_clock()
    states = {t.name: t.state for t in clock.targets}
    assert states == dict(first_response="running", next_update="waiting", resolution="running")
    assert target(clock, "first_response").due_at == minutes(15)
    assert target(clock, "resolution").due_at == minutes(240)
    assert target(clock, "next_update").due_at is None
    assert clock.next_check_at == minutes(15 * 0.75)


def test_on_office_hours_the_targets_fall_due_in_business_time() -> None:
    stockholm = ZoneInfo("Europe/Stockholm")
    friday = datetime(2026, 1, 9, 16, tzinfo=stockholm)
    clock = new_clock(POLICIES["gold/highest"], SE, friday)  # 30 min / 1 h / 8 h
    assert target(clock, "first_response").due_at == friday + timedelta(minutes=30)
    assert target(clock, "resolution").due_at == datetime(2026, 1, 12, 15, tzinfo=stockholm)
    assert clock.next_check_at == friday + timedelta(minutes=22.5)
    clock, happened = check(clock, SE, datetime(2026, 1, 9, 16, 30, 1, tzinfo=stockholm))
    assert said(happened) == [("breached", "first_response")]
    monday = datetime(2026, 1, 12, 14, tzinfo=stockholm)
    clock, happened = check(clock, SE, monday)
    assert said(happened) == [("warning", "resolution")]
    assert target(clock, "resolution").used(SE, monday) == 7 * 3600


def test_each_warning_and_the_breach_are_announced_once() -> None:
    clock, heard = checked(new_clock(), 11, 11.25, 12, 13.5, 14, 15, 20)
    fr = "first_response"
    assert heard == [[], [("warning", fr)], [], [("warning", fr)], [], [("breached", fr)], []]
    assert target(clock, fr).warned == [0.75, 0.9] and target(clock, fr).breached
    assert clock.next_check_at == minutes(180)  # only the resolution's warning is left


def test_a_warning_says_the_highest_threshold_reached_the_due_time_and_the_time_used() -> None:
    first, late = check(new_clock(), ON, minutes(11.25))[1], check(new_clock(), ON, minutes(14))[1]
    assert [(h.fraction, h.due_at, h.elapsed_seconds) for h in first] == [(0.75, minutes(15), 675)]
    assert [(h.fraction, h.elapsed_seconds) for h in late] == [(0.9, 840)]


def test_first_response_and_resolution_warn_and_breach_independently() -> None:
    _, heard = checked(new_clock(), 180, 216, 240)
    assert heard == [
        [("breached", "first_response"), ("warning", "resolution")],
        [("warning", "resolution")],
        [("breached", "resolution")],
    ]


def test_waiting_for_the_customer_stops_the_clock_until_they_answer() -> None:
    clock = pause(new_clock(), ON, minutes(5), WAITING)
    assert clock.next_check_at is None
    clock, happened = check(clock, ON, minutes(600))
    assert happened == []
    assert target(clock, "first_response").used(ON, minutes(600)) == 300
    clock = resume(clock, ON, minutes(600))
    assert target(clock, "first_response").due_at == minutes(610)
    assert clock.next_check_at == minutes(606.25)
    clock, heard = checked(clock, 606, 606.25)
    assert heard == [[], [("warning", "first_response")]]
    assert clock.pauses == [Pause(start=minutes(5), end=minutes(600), reason=WAITING)]


def test_pausing_a_paused_clock_or_resuming_a_running_one_changes_nothing() -> None:
    paused = pause(new_clock(), ON, minutes(5), WAITING)
    assert pause(paused, ON, minutes(9), WAITING) == paused
    assert resume(new_clock(), ON, minutes(9)) == new_clock()


def test_a_reply_in_time_meets_the_first_response_and_starts_the_next_update() -> None:
    clock, heard = replied(new_clock(), 10)
    assert heard == [("met", "first_response")]
    assert target(clock, "first_response").outcome == "met"
    update = target(clock, "next_update")
    assert (update.state, update.due_at) == ("running", minutes(70))
    assert target(clock, "resolution").due_at == minutes(240)


@pytest.mark.parametrize(("checks", "kind"), [((), "breached"), ((15,), "missed")])
def test_a_late_first_reply_is_the_breach_unless_the_breach_was_already_announced(
    checks: tuple[float, ...], kind: str
) -> None:
    clock, _ = checked(new_clock(), *checks)
    clock, heard = replied(clock, 20)
    assert heard == [(kind, "first_response")]
    assert target(clock, "first_response").outcome == "missed"


def test_every_later_reply_ends_the_update_round_and_starts_a_new_one() -> None:
    clock, _ = replied(new_clock(), 10)
    clock, heard = checked(clock, 55)
    assert heard == [[("warning", "next_update")]]
    clock, heard_at_reply = replied(clock, 60)
    update = target(clock, "next_update")
    assert heard_at_reply == [("met", "next_update")]
    assert (update.round, update.elapsed_seconds, update.warned) == (1, 0, [])
    assert update.due_at == minutes(120)
    clock, heard = checked(clock, 104, 105, 120)
    assert heard == [[], [("warning", "next_update")], [("breached", "next_update")]]
    clock, heard_at_reply = replied(clock, 130)
    assert heard_at_reply == [("missed", "next_update")]
    _, heard = checked(clock, 190)
    assert heard == [[("breached", "next_update"), ("warning", "resolution")]]  # a new round


def test_resolving_stops_every_running_target_and_a_waiting_next_update_silently() -> None:
    clock, _ = replied(new_clock(), 10)
    clock, happened = resolved(clock, ON, minutes(40))
    assert sorted(said(happened)) == [("met", "next_update"), ("met", "resolution")]
    assert {t.state for t in clock.targets} == {"stopped"}
    assert clock.next_check_at is None
    assert check(clock, ON, minutes(600))[1] == []
    unanswered, happened = resolved(new_clock(), ON, minutes(5))
    assert "next_update" not in {h.target for h in happened}
    assert target(unanswered, "next_update").state == "stopped"


def test_a_reopened_ticket_goes_on_with_the_resolution_time_already_used() -> None:
    clock, _ = replied(new_clock(), 10)
    clock, _ = resolved(clock, ON, minutes(40))
    clock = reopened(clock, ON, minutes(300))
    resolution, update = target(clock, "resolution"), target(clock, "next_update")
    assert (resolution.state, resolution.elapsed_seconds) == ("running", 40 * 60)
    assert resolution.due_at == minutes(300 + 200)
    assert (update.state, update.round, update.elapsed_seconds) == ("running", 1, 0)
    assert update.due_at == minutes(360)
    _, heard = checked(clock, 300 + 140)
    assert heard == [[("breached", "next_update"), ("warning", "resolution")]]


def test_a_new_priority_keeps_the_time_used_moves_the_due_times_and_clears_warnings() -> None:
    clock, _ = checked(new_clock(), 12)  # the 75 % warning of 15 min is given
    clock = replan(clock, POLICIES["platinum/high"], ON, minutes(12), ON)  # 30 min / 2 h / 8 h
    first_response = target(clock, "first_response")
    assert (clock.policy_id, clock.priority) == ("platinum/high", Priority.HIGH)
    assert (first_response.elapsed_seconds, first_response.warned) == (720, [])
    assert first_response.due_at == minutes(30)
    assert target(clock, "resolution").due_at == minutes(480)
    _, heard = checked(clock, 22, 22.5)
    assert heard == [[], [("warning", "first_response")]]


def test_a_tighter_target_repeats_no_warning_and_breaches_at_once_when_exceeded() -> None:
    seconds = {"first_response": 800, "next_update": 3600, "resolution": 14400}
    tighter = PLATINUM.model_copy(update={"id": "custom", "target_seconds": seconds})
    clock, _ = checked(new_clock(), 12)
    clock, happened = check(replan(clock, tighter, ON, minutes(12), ON), ON, minutes(12))
    assert [(h.kind, h.fraction) for h in happened] == [("warning", 0.9)]  # 0.75 is not repeated
    clock = replan(new_clock(POLICIES["platinum/high"]), PLATINUM, ON, minutes(25), ON)
    assert checked(clock, 25)[1] == [[("breached", "first_response")]]


def test_a_new_calendar_keeps_the_time_used_under_the_old_one() -> None:
    # 10 h on 24x7 over a Saturday must not become 0 s because office hours now apply.
    saturday = datetime(2026, 1, 10, 10, tzinfo=UTC)
    clock = new_clock(POLICIES["platinum/normal"], ON, saturday)
    clock = replan(clock, POLICIES["gold/normal"], SE, saturday + timedelta(hours=10), ON)
    assert target(clock, "resolution").elapsed_seconds == 10 * 3600


def test_resolving_while_waiting_for_the_customer_ends_the_pause() -> None:
    clock = pause(new_clock(), ON, minutes(5), WAITING)
    clock, _ = resolved(clock, ON, minutes(50))
    assert clock.pauses == [Pause(start=minutes(5), end=minutes(50), reason=WAITING)]


STOCKHOLM = ZoneInfo("Europe/Stockholm")
FRIDAY_LATE = datetime(2026, 1, 9, 16, 45, tzinfo=STOCKHOLM)  # gold/highest: 30 min first response


def test_a_breach_found_at_night_on_office_hours_is_held_until_the_office_opens() -> None:
    clock = new_clock(POLICIES["gold/highest"], SE, FRIDAY_LATE)
    due = target(clock, "first_response").due_at
    assert due == datetime(2026, 1, 12, 8, 15, tzinfo=STOCKHOLM)  # 15 min on Friday, 15 Monday
    clock = replan(
        clock,
        POLICIES["gold/highest"].model_copy(
            update={
                "target_seconds": {"first_response": 600, "next_update": 3600, "resolution": 28800}
            }
        ),
        SE,
        FRIDAY_LATE + timedelta(minutes=1),
        SE,
    )  # tightened: due Friday 16:55
    saturday = datetime(2026, 1, 10, 0, 30, tzinfo=STOCKHOLM)  # sla was down overnight
    clock, happened = check(clock, SE, saturday)
    monday = datetime(2026, 1, 12, 8, tzinfo=STOCKHOLM)
    assert happened == []
    assert (clock.held_until, clock.next_check_at) == (monday, monday)
    assert not target(clock, "first_response").breached
    clock, happened = check(clock, SE, monday)
    assert said(happened) == [("breached", "first_response")]
    assert happened[0].due_at == datetime(2026, 1, 9, 16, 55, tzinfo=STOCKHOLM)
    assert clock.held_until is None


def test_a_breach_at_closing_time_is_not_held_nor_one_on_24x7_or_when_the_policy_says_so() -> None:
    closing = datetime(2026, 1, 9, 17, tzinfo=STOCKHOLM)
    clock = new_clock(POLICIES["gold/highest"], SE, closing - timedelta(minutes=30))
    assert target(clock, "first_response").due_at == closing
    _, happened = check(clock, SE, closing + timedelta(seconds=2))  # the scheduler's delay
    assert said(happened) == [("breached", "first_response")]
    _, happened = check(new_clock(), ON, datetime(2026, 1, 10, 3, tzinfo=STOCKHOLM))
    assert ("breached", "first_response") in said(happened)  # platinum: 24x7, midnight too
    loud = POLICIES["gold/highest"].model_copy(update={"quiet_hours": False})
    clock = new_clock(loud, SE, closing - timedelta(minutes=30))
    _, happened = check(clock, SE, datetime(2026, 1, 10, 3, tzinfo=STOCKHOLM))
    assert said(happened) == [("breached", "first_response")]


def test_warnings_found_at_night_are_held_too_and_pausing_meanwhile_keeps_them_held() -> None:
    clock = new_clock(POLICIES["gold/highest"], SE, datetime(2026, 1, 9, 16, 35, tzinfo=STOCKHOLM))
    night = datetime(2026, 1, 9, 22, tzinfo=STOCKHOLM)  # 25 of 30 min used: the 75% warning
    clock, happened = check(clock, SE, night)
    assert happened == [] and clock.held_until == datetime(2026, 1, 12, 8, tzinfo=STOCKHOLM)
    clock = pause(clock, SE, night + timedelta(hours=1), WAITING)
    clock = resume(clock, SE, night + timedelta(hours=2))
    clock, happened = check(clock, SE, night + timedelta(hours=2))
    assert happened == [] and clock.held_until == datetime(2026, 1, 12, 8, tzinfo=STOCKHOLM)
    clock, happened = check(clock, SE, datetime(2026, 1, 12, 8, tzinfo=STOCKHOLM))
    assert [(h.kind, h.fraction) for h in happened] == [("warning", 0.75)]


def walk_the_checks(clock: SlaClock, calendar: Calendar) -> None:
    """The scheduler relies on it: a check at `next_check_at` announces and moves it on."""
    for _ in range(12):
        due = clock.next_check_at
        if due is None:
            return
        clock, happened = check(clock, calendar, due)
        assert happened, f"nothing announced at next_check_at {due}"
        assert clock.next_check_at is None or clock.next_check_at > due
    pytest.fail("more checks than two warnings and a breach per target")


MICROS = st.integers(0, 10**10)


@given(st.sampled_from(sorted(POLICIES)), st.sampled_from([ON, SE]), MICROS, MICROS)
def test_the_scheduler_hears_something_at_every_check_it_is_asked_for(
    pid: str, calendar: Calendar, run_us: int, pause_us: int
) -> None:
    clock = new_clock(POLICIES[pid], calendar)
    stop = T0 + timedelta(microseconds=run_us)
    clock = pause(clock, calendar, stop, WAITING)
    clock = resume(clock, calendar, stop + timedelta(microseconds=pause_us))
    clock, _ = check(clock, calendar, stop + timedelta(microseconds=pause_us))
    walk_the_checks(clock, calendar)


def test_a_nine_second_target_warns_at_its_ninety_percent_check() -> None:
    # The 90 % check is due at +8.1 s, check announces nothing there, next_check_at stays put.
    seconds = {"first_response": 9, "next_update": 60, "resolution": 3600}
    walk_the_checks(new_clock(PLATINUM.model_copy(update={"target_seconds": seconds})), ON)


OPERATIONS = ["pause", "resume", "reply", "check", "check", "resolve", "reopen"]


def operate(
    clock: SlaClock, calendar: Calendar, op: str, now: datetime
) -> tuple[SlaClock, list[Happening]]:
    if op == "pause":
        return pause(clock, calendar, now, WAITING), []
    if op in ("resume", "reopen"):
        return (resume if op == "resume" else reopened)(clock, calendar, now), []
    return {"reply": agent_replied, "resolve": resolved, "check": check}[op](clock, calendar, now)


@given(
    st.sampled_from([ON, SE]),
    st.sampled_from(["platinum/highest", "gold/high", "bronze/lowest"]),
    st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 3 * 3600)), max_size=30),
)
def test_no_sequence_of_events_turns_time_back_or_announces_anything_twice(
    calendar: Calendar, pid: str, steps: list[tuple[str, int]]
) -> None:
    clock, now, announced = new_clock(POLICIES[pid], calendar), T0, set()
    for op, gap in steps:
        before, then = {t.name: t for t in clock.targets}, now
        now += timedelta(seconds=gap)
        clock, happened = operate(clock, calendar, op, now)
        for h in happened:  # each warning threshold and the breach once per target and round
            if h.kind in ("warning", "breached"):
                level = h.fraction if h.kind == "warning" else "breached"
                key = (h.target, before[h.target].round, level)
                assert key not in announced
                announced.add(key)
        for t in clock.targets:
            old = before[t.name]
            if t.round != old.round:
                assert (t.name, t.round, t.elapsed_seconds) == ("next_update", old.round + 1, 0)
                continue
            assert t.elapsed_seconds >= old.elapsed_seconds
            assert t.used(calendar, now) >= old.used(calendar, then)
            if t.state == old.state == "paused":
                assert t.used(calendar, now) == old.used(calendar, then)


def test_a_replay_of_history_at_night_shows_the_breach_it_would_hold_back_live() -> None:
    ten = POLICIES["gold/high"].model_copy(
        update={"target_seconds": {"first_response": 600, "next_update": 3600, "resolution": 9000}}
    )
    setup = Setup({"office": SE, "24x7": ON}, {}, {**POLICIES, "gold/high": ten})
    data = TicketTriagedData(
        ticket_id="t-1",
        number="HD-000001",
        type=TicketType.INCIDENT,
        impact=Level.HIGH,
        urgency=Level.HIGH,
        priority=Priority.HIGH,
        service_level=ServiceLevel.GOLD,
        queue="operations",
        tier=1,
        status=TicketStatus.OPEN,
        entitled=True,
    )
    triaged = TicketTriaged.create(source="triage", subject="t-1", time=FRIDAY_LATE, data=data)
    night = datetime(2026, 1, 10, 2, tzinfo=STOCKHOLM)
    clock = replay([triaged], setup, night)
    assert clock is not None and target(clock, "first_response").breached
    assert clock.held_until is None
    live, happened = check(new_clock(ten, SE, FRIDAY_LATE), SE, night)
    assert happened == [] and not target(live, "first_response").breached
