"""Intake numbers, SLA targets, problem tokens, reporting counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import format_number, parse_number
from services.problems.domain import jaccard, tokens
from services.reporting.domain import add_into, increments
from services.sla.domain import targets_for
from shared.events.common import Priority, ServiceLevel
from tests.unit.test_events import created


@given(st.integers(min_value=1, max_value=10**9))
def test_a_ticket_number_reads_back_as_its_sequence(seq: int) -> None:
    number = format_number(seq)
    assert number.startswith("HD-") and len(number) >= 9
    assert parse_number(number) == seq
    assert parse_number(number.lower()) == seq


@pytest.mark.parametrize("text", ["HD-12", "HX-000001", "HD-00000a", "", "000001"])
def test_what_is_not_a_ticket_number_is_not_read_as_one(text: str) -> None:
    assert parse_number(text) is None


def test_sequence_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        format_number(0)


def test_platinum_highest_answers_within_15_minutes_and_resolves_within_4_hours() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first, _, resolution = targets_for(ServiceLevel.PLATINUM, Priority.HIGHEST, start)
    assert first.due_at - start == timedelta(minutes=15)
    assert resolution.due_at - start == timedelta(hours=4)


@given(st.sampled_from(list(ServiceLevel)), st.sampled_from(list(Priority)))
def test_better_service_levels_never_get_longer_targets(level: ServiceLevel, p: Priority) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    order = list(ServiceLevel)
    better = order[max(0, order.index(level) - 1)]
    for mine, theirs in zip(
        targets_for(level, p, start), targets_for(better, p, start), strict=True
    ):
        assert theirs.seconds <= mine.seconds


def test_tokens_fold_case_and_accents_and_drop_short_words() -> None:
    assert tokens("Éxport FAILS on a", "export fails") == ["export", "fails"]
    assert tokens("Принтер не печатает") == ["принтер", "печатает"]


@given(st.lists(st.text(min_size=3, max_size=6)), st.lists(st.text(min_size=3, max_size=6)))
def test_similarity_is_symmetric_and_between_zero_and_one(a: list[str], b: list[str]) -> None:
    assert jaccard(a, b) == jaccard(b, a)
    assert 0.0 <= jaccard(a, b) <= 1.0


def test_a_created_ticket_moves_the_created_and_channel_counters() -> None:
    assert increments(created()) == {"tickets_created": 1, "by_channel.email": 1}


def test_counter_shards_sum_into_one_total() -> None:
    total: dict[str, object] = {}
    add_into(total, {"tickets_created": 2, "by_queue": {"ops": 1}})
    add_into(total, {"tickets_created": 3, "by_queue": {"ops": 2, "dev": 1}})
    assert total == {"tickets_created": 5, "by_queue": {"ops": 3, "dev": 1}}
