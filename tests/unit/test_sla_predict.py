"""Seeing a breach coming: the queue's usual time, the wait behind the tickets ahead, and
nothing said without history or once the warnings have begun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.sla.domain import (
    agent_replied,
    always_on,
    assess,
    at_risk_by_target,
    default_policies,
    flagged,
    learn,
    pause,
    resolved,
    start,
    watched,
)
from services.sla.domain.clock import SlaClock

ON = always_on()
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
POLICY = default_policies()["platinum/normal"]  # first response 60 min on 24x7


def clock(n: int, at: datetime, replied_after: float | None = None) -> SlaClock:
    c = start(f"t-{n}", f"HD-{n:06d}", POLICY, ON, at, queue="operations")
    if replied_after is not None:
        c, _ = agent_replied(c, ON, at + timedelta(minutes=replied_after))
    return c


def history(minutes: float, count: int = 6) -> list[SlaClock]:
    return [clock(n, T0 - timedelta(hours=2), minutes) for n in range(count)]


def test_a_ticket_in_a_queue_that_usually_takes_longer_than_the_target_is_at_risk() -> None:
    mine = clock(99, T0)
    stats = learn([*history(90), mine], T0)
    risk = assess(mine, mine.targets[0], stats[("operations", "first_response")], ON, T0)
    assert risk is not None and risk.target == "first_response"
    assert (risk.needed_seconds, risk.left_seconds) == (90 * 60, 60 * 60)
    assert "takes 90 min (median of 6)" in risk.reason and "60 min left" in risk.reason


def test_a_queue_that_usually_makes_it_gives_no_warning_ahead() -> None:
    mine = clock(99, T0)
    stats = learn([*history(30), mine], T0)
    assert assess(mine, mine.targets[0], stats[("operations", "first_response")], ON, T0) is None


def test_too_little_history_says_nothing() -> None:
    mine = clock(99, T0)
    stats = learn([*history(90, count=4), mine], T0)
    assert assess(mine, mine.targets[0], stats[("operations", "first_response")], ON, T0) is None


def test_the_tickets_ahead_at_the_queues_pace_can_make_the_risk() -> None:
    handled = history(20, count=8)  # usually quick: 20 min, 8 handled in the last 8 hours
    ahead = [clock(50 + n, T0 - timedelta(minutes=10 - n)) for n in range(9)]
    mine = clock(99, T0)
    stats = learn([*handled, *ahead, mine], T0)
    risk = assess(mine, mine.targets[0], stats[("operations", "first_response")], ON, T0)
    assert risk is not None and "9 ahead" in risk.reason
    assert risk.needed_seconds == 9 / (8 / (8 * 3600))  # nine at one per hour: 9 hours


def test_once_the_warnings_have_begun_the_prediction_is_no_longer_news() -> None:
    mine = clock(99, T0)
    stats = learn([*history(90), mine], T0)
    late = T0 + timedelta(minutes=46)  # past 75 % of 60 min
    assert assess(mine, mine.targets[0], stats[("operations", "first_response")], ON, late) is None


def test_the_at_risk_count_is_of_running_flagged_targets_not_breached_yet() -> None:
    at_risk = flagged(clock(1, T0), "first_response", "slow queue")
    also = flagged(flagged(clock(2, T0), "first_response", "slow"), "resolution", "slow")
    on_hold = pause(flagged(clock(3, T0), "resolution", "slow"), ON, T0, "waiting for customer")
    late = flagged(clock(4, T0), "first_response", "slow")
    late = late.model_copy(
        update={"targets": [t.model_copy(update={"breached": True}) for t in late.targets]}
    )
    counts = at_risk_by_target([at_risk, also, on_hold, late, clock(5, T0)])
    assert counts == {"first_response": 2, "next_update": 0, "resolution": 1}


def test_the_predictor_watches_running_clocks_and_a_week_of_history_and_nothing_else() -> None:
    running = clock(1, T0)
    done, _ = resolved(clock(2, T0, replied_after=10), ON, T0 + timedelta(minutes=30))
    waiting = pause(clock(3, T0), ON, T0, "waiting for customer")
    assert watched(running) and watched(done) and not watched(waiting)
    # what learn and assess would read from the rest is nothing: the same stats without it
    everything = [*history(90), running, done, waiting]
    seen = [c for c in everything if watched(c, T0)]
    assert learn(seen, T0) == learn(everything, T0)
    week_later = T0 + timedelta(days=8)
    assert watched(running, week_later) and not watched(done, week_later)
    assert learn([c for c in everything if watched(c, week_later)], week_later) == learn(
        everything, week_later
    )
