"""Who gets a ticket, where an escalation goes, and what agents must send to resolve or correct
a ticket."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.triage.domain import (
    Agent,
    ClassifyRequest,
    Queue,
    ResolveRequest,
    candidates,
    plan_escalation,
)
from shared.errors import Conflict

# Who gets a ticket

QUEUE = Queue(key="operations", name="Operational problems", skills=["plc"])


def agent(agent_id: str, **fields: Any) -> Agent:
    base: dict[str, Any] = dict(
        id=agent_id,
        name=agent_id.title(),
        email=f"{agent_id}@support.example.com",
        tier=1,
        queues=["operations"],
        skills=["plc", "sql"],
    )
    return Agent.model_validate(base | fields)


def ids(agents: list[Agent]) -> list[str]:
    return [a.id for a in agents]


def test_the_agent_with_the_least_open_work_comes_first() -> None:
    team = [agent("ann"), agent("bob"), agent("cid")]
    load = {"ann": 4, "bob": 1, "cid": 2}
    assert ids(candidates(team, QUEUE, 1, load, None)) == ["bob", "cid", "ann"]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, ["a1", "b1", "c1"]),
        ("a1", ["b1", "c1", "a1"]),
        ("b1", ["c1", "a1", "b1"]),
        ("c1", ["a1", "b1", "c1"]),
    ],
)
def test_agents_with_equal_loads_take_turns_after_the_last_one(
    last: str | None, expected: list[str]
) -> None:
    team = [agent("c1"), agent("a1"), agent("b1")]
    assert ids(candidates(team, QUEUE, 1, {}, last)) == expected


def test_turns_only_break_ties_and_never_beat_a_lighter_load() -> None:
    team = [agent("a1"), agent("b1"), agent("c1")]
    load = {"a1": 0, "b1": 1, "c1": 1}
    assert ids(candidates(team, QUEUE, 1, load, "a1")) == ["a1", "b1", "c1"]


def test_the_turn_passes_after_the_last_agent_even_when_they_are_no_longer_available() -> None:
    team = [agent("a1"), agent("b1", on_shift=False), agent("c1")]
    assert ids(candidates(team, QUEUE, 1, {}, "b1")) == ["c1", "a1"]


@pytest.mark.parametrize(
    ("excluded", "load"),
    [
        (agent("out", capacity=3), 3),
        (agent("out", capacity=3), 7),
        (agent("out", capacity=0), 0),
        (agent("out", on_shift=False), 0),
        (agent("out", tier=2), 0),
        (agent("out", queues=["compatibility"]), 0),
        (agent("out", skills=["sql"]), 0),
    ],
    ids=[
        "at capacity",
        "over capacity",
        "no capacity",
        "off shift",
        "other tier",
        "other queue",
        "missing a skill",
    ],
)
def test_agents_who_cannot_take_the_ticket_are_left_out(excluded: Agent, load: int) -> None:
    team = [excluded, agent("ok")]
    assert ids(candidates(team, QUEUE, 1, {"out": load}, None)) == ["ok"]


ids_strategy = st.lists(
    st.sampled_from(["a1", "b1", "c1", "d1", "e1", "f1"]), min_size=0, max_size=6, unique=True
)


@st.composite
def teams(draw: st.DrawFn) -> tuple[list[Agent], dict[str, int], str | None]:
    names = draw(ids_strategy)
    team = [
        agent(
            name,
            tier=draw(st.integers(1, 2)),
            capacity=draw(st.integers(0, 5)),
            on_shift=draw(st.booleans()),
            queues=draw(st.sampled_from([["operations"], ["compatibility"], []])),
            skills=draw(st.sampled_from([["plc"], ["sql"], ["plc", "sql"]])),
        )
        for name in names
    ]
    load = {name: draw(st.integers(0, 7)) for name in names}
    last = draw(st.one_of(st.none(), st.sampled_from(["a1", "b1", "c1", "d1", "e1", "f1"])))
    return team, load, last


def may_take(a: Agent, load: dict[str, int]) -> bool:
    return (
        a.tier == 1
        and "operations" in a.queues
        and "plc" in a.skills
        and a.on_shift
        and load[a.id] < a.capacity
    )


@given(teams())
def test_the_first_candidate_has_the_least_load_and_nobody_is_full(
    drawn: tuple[list[Agent], dict[str, int], str | None],
) -> None:
    team, load, last = drawn
    found = candidates(team, QUEUE, 1, load, last)
    assert sorted(ids(found)) == sorted(a.id for a in team if may_take(a, load))
    assert all(load[a.id] < a.capacity for a in found)
    if found:
        assert all(load[found[0].id] <= load[a.id] for a in found)
    assert [load[a.id] for a in found] == sorted(load[a.id] for a in found)


@given(st.lists(st.sampled_from(["a1", "b1", "c1", "d1", "e1"]), min_size=1, unique=True))
def test_with_equal_loads_the_next_ticket_goes_to_the_one_after_the_last(names: list[str]) -> None:
    team = [agent(n) for n in names]
    order = sorted(names)
    for position, last in enumerate(order):
        expected = order[position + 1 :] + order[: position + 1]
        assert ids(candidates(team, QUEUE, 1, {}, last)) == expected


# Where an escalation goes

ESCALATING = Queue(
    key="operations", name="Operational problems", on_call="oncall", supervisor="boss"
)
NOBODY = Queue(key="operations", name="Operational problems")


def test_an_sla_warning_goes_to_the_on_call_agent_at_the_same_tier() -> None:
    plan = plan_escalation(1, "ann", ESCALATING, "sla.at_risk", 0)
    assert (plan.tier, plan.assignee) == (1, "oncall")
    assert "on-call" in plan.reason


def test_an_sla_warning_the_on_call_agent_already_has_goes_up_a_tier() -> None:
    plan = plan_escalation(1, "oncall", ESCALATING, "sla.at_risk", 0)
    assert (plan.tier, plan.assignee) == (2, None)


def test_an_sla_warning_without_an_on_call_agent_goes_up_a_tier() -> None:
    plan = plan_escalation(2, "ann", NOBODY, "sla.at_risk", 0)
    assert (plan.tier, plan.assignee) == (3, None)


def test_a_first_breach_goes_up_a_tier() -> None:
    plan = plan_escalation(1, "ann", ESCALATING, "sla.breached", 1)
    assert (plan.tier, plan.assignee, plan.reason) == (2, None, "up to tier 2")


def test_a_second_breach_goes_to_the_queues_supervisor() -> None:
    plan = plan_escalation(2, "ann", ESCALATING, "sla.breached", 2)
    assert (plan.tier, plan.assignee) == (2, "boss")
    assert "supervisor" in plan.reason


def test_a_second_breach_without_a_supervisor_goes_up_a_tier() -> None:
    plan = plan_escalation(1, "ann", NOBODY, "sla.breached", 2)
    assert (plan.tier, plan.assignee) == (2, None)


@pytest.mark.parametrize(
    ("trigger", "breaches"), [("manual", 0), ("sla.breached", 1), ("sla.at_risk", 0)]
)
def test_at_tier_three_an_escalation_goes_to_the_on_call_agent(trigger: str, breaches: int) -> None:
    plan = plan_escalation(3, "dev", ESCALATING, trigger, breaches)
    assert (plan.tier, plan.assignee) == (3, "oncall")


@pytest.mark.parametrize("queue", [NOBODY, ESCALATING], ids=["nobody on call", "self on call"])
def test_a_manual_escalation_at_tier_three_with_nobody_else_on_call_is_a_conflict(
    queue: Queue,
) -> None:
    with pytest.raises(Conflict, match="tier 3"):
        plan_escalation(3, "oncall", queue, "manual", 0)


@pytest.mark.parametrize(("trigger", "breaches"), [("sla.breached", 1), ("sla.at_risk", 0)])
def test_an_automatic_escalation_at_tier_three_with_nobody_else_keeps_the_assignee(
    trigger: str, breaches: int
) -> None:
    plan = plan_escalation(3, "dev", NOBODY, trigger, breaches)
    assert (plan.tier, plan.assignee) == (3, "dev")


def test_a_manual_escalation_below_tier_three_goes_up_a_tier() -> None:
    plan = plan_escalation(2, "ann", ESCALATING, "manual", 0)
    assert (plan.tier, plan.assignee) == (3, None)


# What agents send


def test_a_pending_fix_needs_a_release_or_a_date() -> None:
    with pytest.raises(ValidationError, match="fix_release or fix_expected_on"):
        ResolveRequest(resolution="Fixed in the next release", resolution_code="fix_pending")
    named = ResolveRequest(
        resolution="Fixed in 5.3", resolution_code="fix_pending", fix_release="5.3"
    )
    dated = ResolveRequest(
        resolution="Fix due", resolution_code="fix_pending", fix_expected_on=date(2026, 3, 1)
    )
    assert (named.fix_release, dated.fix_expected_on) == ("5.3", date(2026, 3, 1))


def test_a_workaround_resolution_needs_the_workaround_described() -> None:
    with pytest.raises(ValidationError, match="workaround"):
        ResolveRequest(resolution="Worked around", resolution_code="workaround")
    with pytest.raises(ValidationError, match="workaround"):
        ResolveRequest(resolution="Worked around", resolution_code="workaround", workaround="  ")
    done = ResolveRequest(
        resolution="Worked around",
        resolution_code="workaround",
        workaround="Export to CSV instead",
    )
    assert done.workaround == "Export to CSV instead"


def test_an_unknown_resolution_code_is_refused() -> None:
    with pytest.raises(ValidationError, match="resolution_code"):
        ResolveRequest(resolution="Done", resolution_code="magic")


def test_a_classification_correction_must_correct_something() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        ClassifyRequest(reason="looked again")


@pytest.mark.parametrize(
    "correction",
    [
        {"type": "change"},
        {"request_kind": "usage_consultation"},
        {"impact": "low"},
        {"urgency": "high"},
        {"queue": "operations"},
    ],
)
def test_any_one_correction_is_enough(correction: dict[str, str]) -> None:
    request = ClassifyRequest.model_validate({"reason": "looked again"} | correction)
    assert request.reason == "looked again"
