"""Triage rules: the priority matrix, the service-level uplift, routing, the life cycle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.triage.domain import (
    ALLOWED,
    DEFAULT_MATRIX,
    PRIORITY_ORDER,
    decide,
    raise_priority,
    transition,
)
from shared.errors import InvalidTransition
from shared.events.common import (
    Channel,
    Level,
    Person,
    Priority,
    ServiceLevel,
    TicketStatus,
    TicketType,
)
from shared.events.intake import TicketCreatedData


def ticket(**fields: object) -> TicketCreatedData:
    base: dict[str, object] = dict(
        ticket_id="t",
        number="HD-000001",
        subject="s",
        channel=Channel.WEB,
        requester=Person(email="a@b.example"),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return TicketCreatedData.model_validate(base | fields)


def test_the_matrix_covers_every_impact_and_urgency() -> None:
    assert set(DEFAULT_MATRIX) == {(i, u) for i in Level for u in Level}


def test_business_stopped_is_the_highest_priority() -> None:
    decision = decide(ticket(impact=Level.HIGH, urgency=Level.HIGH, entitled=True))
    assert decision.priority is Priority.HIGHEST and decision.queue == "general-questions"


def test_a_platinum_contract_raises_the_priority_and_says_so() -> None:
    decision = decide(ticket(service_level=ServiceLevel.PLATINUM, organization_id="acme"))
    assert decision.priority is Priority.HIGH
    assert any("platinum" in line for line in decision.explanation)


def test_a_consultation_gets_the_lowest_priority_whatever_the_urgency() -> None:
    decision = decide(ticket(type_hint=TicketType.CONSULTATION, urgency=Level.HIGH))
    assert decision.priority is Priority.LOWEST


def test_a_ticket_without_a_valid_contract_goes_to_verification() -> None:
    assert decide(ticket()).queue == "verification"
    assert decide(ticket(organization_id="acme")).queue == "verification"


@given(st.sampled_from(PRIORITY_ORDER), st.integers(min_value=-10, max_value=10))
def test_raising_a_priority_stays_within_the_scale_and_never_goes_the_wrong_way(
    priority: Priority, steps: int
) -> None:
    raised = raise_priority(priority, steps)
    moved = PRIORITY_ORDER.index(raised) - PRIORITY_ORDER.index(priority)
    assert raised in PRIORITY_ORDER
    assert (moved >= 0) if steps >= 0 else (moved <= 0)


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
