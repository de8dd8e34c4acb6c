"""Intake numbers, SLA targets, problem tokens, reporting counters."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.intake.domain import Contract, format_number, judge, parse_number
from services.problems.domain import jaccard, tokens
from services.reporting.domain import add_into, increments
from services.sla.domain import default_policies, policy_id
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
    policy = default_policies()["platinum/highest"]
    assert policy.target_seconds == {
        "first_response": 15 * 60,
        "next_update": 60 * 60,
        "resolution": 4 * 3600,
    }
    assert policy.calendar_id == "24x7"


def test_bronze_lowest_resolves_within_three_business_days_of_office_hours() -> None:
    policy = default_policies()["bronze/lowest"]
    assert policy.target_seconds["resolution"] == 3 * 9 * 3600
    assert policy.calendar_id == "office"


@given(st.sampled_from(list(ServiceLevel)), st.sampled_from(list(Priority)))
def test_better_service_levels_and_priorities_never_get_longer_targets(
    level: ServiceLevel, p: Priority
) -> None:
    policies = default_policies()
    levels, priorities = list(ServiceLevel), list(Priority)  # best level first, lowest first
    better_level = levels[max(0, levels.index(level) - 1)]
    higher = priorities[min(len(priorities) - 1, priorities.index(p) + 1)]
    mine = policies[policy_id(level, p)].target_seconds
    for better in (policy_id(better_level, p), policy_id(level, higher)):
        assert all(policies[better].target_seconds[n] <= s for n, s in mine.items())


def test_tokens_fold_case_and_accents_and_drop_short_words() -> None:
    assert tokens("Éxport FAILS on a", "export fails") == ["export", "fails"]
    assert tokens("Принтер не печатает") == ["принтер", "печатает"]


@given(st.lists(st.text(min_size=3, max_size=6)), st.lists(st.text(min_size=3, max_size=6)))
def test_similarity_is_symmetric_and_between_zero_and_one(a: list[str], b: list[str]) -> None:
    assert jaccard(a, b) == jaccard(b, a)
    assert 0.0 <= jaccard(a, b) <= 1.0


def test_a_created_ticket_moves_the_created_channel_and_organisation_counters() -> None:
    assert increments(created()) == {
        "tickets_created": 1,
        "by_channel.email": 1,
        f"by_organization.{created().data.organization_id or '-'}": 1,
    }


def test_counter_shards_sum_into_one_total() -> None:
    total: dict[str, object] = {}
    add_into(total, {"tickets_created": 2, "by_queue": {"ops": 1}})
    add_into(total, {"tickets_created": 3, "by_queue": {"ops": 2, "dev": 1}})
    assert total == {"tickets_created": 5, "by_queue": {"ops": 3, "dev": 1}}


def _contract(**extra: object) -> Contract:
    base: dict[str, object] = {
        "id": "acme-1",
        "organization_id": "acme",
        "number": "SC-1",
        "service_level": "gold",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
    }
    return Contract.model_validate(base | extra)


DAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("named", "reference", "org", "expected"),
    [
        (None, "number SC-9", "acme", (None, "number SC-9 matches no contract")),
        (
            _contract(),
            "number SC-1",
            "globex",
            (None, "number SC-1 matches no contract"),  # not told whose it is
        ),
        (
            _contract(valid_to="2026-05-31"),
            "number SC-1",
            None,
            (None, "contract SC-1 is not valid on 2026-06-01"),
        ),
        (_contract(), "licence K", None, ("acme-1", None)),
        (None, None, None, (None, "the requester matches no organisation")),
    ],
)
def test_entitlement_by_a_named_contract(
    named: Contract | None,
    reference: str | None,
    org: str | None,
    expected: tuple[str | None, str | None],
) -> None:
    found = judge(named, reference, org, [], DAY)
    assert (found.contract.id if found.contract else None, found.reason) == expected


def test_without_a_reference_the_organisations_best_valid_contract_entitles() -> None:
    contracts = [
        _contract(id="c-a", service_level="platinum", valid_to="2026-01-31"),
        _contract(id="c-b", service_level="silver"),
        _contract(id="c-c", service_level="gold"),
    ]
    assert judge(None, None, "acme", contracts, DAY).contract == contracts[2]
    assert judge(None, None, "acme", contracts[:1], DAY).reason == (
        "organisation acme has no contract valid on 2026-06-01"
    )


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"licence_keys": ["ab-cd-ef", "ABCDEF"]}, "licence keys repeated"),
        ({"assets": [{"id": "S1", "name": "x", "site_id": "nowhere"}]}, "does not have"),
        ({"sites": [{"id": "hq", "name": "x"}, {"id": "hq", "name": "y"}]}, "site ids repeated"),
    ],
)
def test_a_contract_that_contradicts_itself_is_refused(
    extra: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        _contract(**extra)
