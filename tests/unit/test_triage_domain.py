"""Triage read whole: a new ticket through `decide` with the default configuration, and the
invariants of the priority scale and the life cycle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.triage.domain import (
    ALLOWED,
    PRIORITY_ORDER,
    decide,
    default_config,
    raise_priority,
    transition,
)
from shared.errors import InvalidTransition
from shared.events.common import (
    Level,
    Priority,
    ServiceLevel,
    TicketStatus,
    TicketType,
)
from tests.unit.triage_tickets import ticket


def test_the_default_matrix_covers_every_impact_and_urgency() -> None:
    cells = default_config().matrix.cells
    assert set(cells) == {f"{i.value}/{u.value}" for i in Level for u in Level}


def test_business_stopped_is_the_highest_priority() -> None:
    decision = decide(ticket(impact=Level.HIGH, urgency=Level.HIGH), default_config())
    assert decision.priority is Priority.HIGHEST
    assert "impact high x urgency high gives highest" in decision.explanation


def test_a_platinum_contract_raises_the_priority_and_says_so() -> None:
    decision = decide(
        ticket(service_level=ServiceLevel.PLATINUM, organization_id="acme"), default_config()
    )
    assert decision.priority is Priority.HIGH
    assert "service level platinum raises it to high" in decision.explanation


def test_a_consultation_gets_the_lowest_priority_whatever_the_urgency() -> None:
    decision = decide(
        ticket(type_hint=TicketType.CONSULTATION, impact=Level.HIGH, urgency=Level.HIGH),
        default_config(),
    )
    assert decision.type is TicketType.CONSULTATION
    assert decision.priority is Priority.LOWEST


def test_a_question_in_the_customers_words_is_a_consultation_with_the_lowest_priority() -> None:
    decision = decide(ticket("How do I export a report to Excel?"), default_config())
    assert decision.type is TicketType.CONSULTATION
    assert decision.priority is Priority.LOWEST
    assert decision.queue == "general-questions"


def test_a_ticket_without_a_valid_contract_goes_to_verification() -> None:
    config = default_config()
    assert decide(ticket(entitled=False), config).queue == "verification"
    assert decide(ticket(entitled=False, organization_id="acme"), config).queue == "verification"


def test_verification_comes_before_any_routing_rule() -> None:
    unentitled = ticket("Is version 5 compatible with Windows 11?", entitled=False)
    assert decide(unentitled, default_config()).queue == "verification"
    assert decide(ticket("Is version 5 compatible with Windows 11?"), default_config()).queue == (
        "compatibility"
    )


def test_a_decision_explains_type_kind_levels_priority_and_queue() -> None:
    decision = decide(ticket("The server crashes every night"), default_config())
    assert decision.explanation == [
        "type incident: score 1 from incident-words ('crash')",
        "request kind failure_analysis: score 1 from why-words ('crash')",
        "impact medium by default",
        "urgency medium by default",
        "impact medium x urgency medium gives normal",
        "queue operations by routing rule operations-incidents",
    ]
    assert decision.tier == 1


@given(st.sampled_from(PRIORITY_ORDER), st.integers(min_value=-10, max_value=10))
def test_raising_a_priority_stays_within_the_scale_and_never_goes_the_wrong_way(
    priority: Priority, steps: int
) -> None:
    raised = raise_priority(priority, steps)
    moved = PRIORITY_ORDER.index(raised) - PRIORITY_ORDER.index(priority)
    assert raised in PRIORITY_ORDER
    assert (moved >= 0) if steps >= 0 else (moved <= 0)
    assert abs(moved) <= abs(steps)


@given(st.sampled_from(list(TicketStatus)), st.sampled_from(list(TicketStatus)))
def test_a_transition_succeeds_exactly_when_the_life_cycle_allows_it(
    current: TicketStatus, target: TicketStatus
) -> None:
    if target in ALLOWED[current]:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(current, target)
        assert info.value.allowed == sorted(s.value for s in ALLOWED[current])


def test_a_closed_ticket_can_only_be_reopened() -> None:
    assert ALLOWED[TicketStatus.CLOSED] == {TicketStatus.REOPENED}
