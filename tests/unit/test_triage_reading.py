"""Triage reads a ticket: the priority matrix and its uplifts, classification, impact and
urgency from words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.triage.domain import (
    ClassificationRule,
    PriorityMatrix,
    TextSignals,
    classify,
    decide,
    default_config,
    derive_levels,
    prioritise,
)
from shared.events.common import (
    Channel,
    Level,
    Priority,
    RequestKind,
    ServiceLevel,
    TicketType,
)
from tests.unit.triage_tickets import H, L, M, matrix, ticket

# The priority matrix and its uplifts


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [
        (H, H, Priority.HIGHEST),
        (H, M, Priority.HIGH),
        (H, L, Priority.NORMAL),
        (M, H, Priority.HIGH),
        (M, M, Priority.NORMAL),
        (M, L, Priority.LOW),
        (L, H, Priority.NORMAL),
        (L, M, Priority.LOW),
        (L, L, Priority.LOW),
    ],
)
def test_each_cell_of_the_default_matrix_gives_its_priority(
    impact: Level, urgency: Level, expected: Priority
) -> None:
    priority, why = prioritise(TicketType.INCIDENT, impact, urgency, None, False, matrix())
    assert priority is expected
    assert why == [f"impact {impact.value} x urgency {urgency.value} gives {expected.value}"]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (ServiceLevel.PLATINUM, Priority.HIGH),
        (ServiceLevel.GOLD, Priority.HIGH),
        (ServiceLevel.SILVER, Priority.NORMAL),
        (ServiceLevel.BRONZE, Priority.NORMAL),
    ],
)
def test_platinum_and_gold_raise_the_priority_one_step_silver_and_bronze_do_not(
    level: ServiceLevel, expected: Priority
) -> None:
    priority, why = prioritise(TicketType.INCIDENT, M, M, level, False, matrix())
    assert priority is expected
    assert any(level.value in line for line in why) is (expected is Priority.HIGH)


def test_a_business_critical_asset_raises_the_priority_one_step() -> None:
    priority, why = prioritise(TicketType.INCIDENT, L, L, None, True, matrix())
    assert priority is Priority.NORMAL
    assert why[-1] == "a business-critical asset raises it to normal"


def test_a_critical_asset_named_on_the_ticket_raises_the_decided_priority() -> None:
    plain = decide(ticket(asset="plc-7"), default_config())
    critical = decide(ticket(asset="plc-7", asset_critical=True), default_config())
    assert (plain.priority, critical.priority) == (Priority.NORMAL, Priority.HIGH)


@pytest.mark.parametrize(
    ("impact", "urgency", "expected"),
    [(M, M, Priority.HIGHEST), (H, M, Priority.HIGHEST), (H, H, Priority.HIGHEST)],
)
def test_both_uplifts_together_add_up_but_stop_at_the_highest_priority(
    impact: Level, urgency: Level, expected: Priority
) -> None:
    priority, _ = prioritise(
        TicketType.INCIDENT, impact, urgency, ServiceLevel.GOLD, True, matrix()
    )
    assert priority is expected


@pytest.mark.parametrize("impact", list(Level))
@pytest.mark.parametrize("urgency", list(Level))
def test_a_consultation_gets_the_lowest_priority_whatever_its_impact_and_urgency(
    impact: Level, urgency: Level
) -> None:
    priority, why = prioritise(TicketType.CONSULTATION, impact, urgency, None, False, matrix())
    assert priority is Priority.LOWEST
    assert why == ["consultations get lowest"]


def test_a_matrix_with_a_missing_cell_is_refused() -> None:
    cells = dict(matrix().cells)
    del cells["low/high"]
    with pytest.raises(ValidationError, match="give exactly the cells"):
        PriorityMatrix(cells=cells)


def test_a_matrix_with_an_unknown_cell_is_refused() -> None:
    cells = dict(matrix().cells) | {"severe/high": Priority.HIGHEST}
    with pytest.raises(ValidationError, match="give exactly the cells"):
        PriorityMatrix(cells=cells)


# Classification


def classified(subject: str, **fields: object) -> tuple[TicketType, RequestKind]:
    found = classify(ticket(subject, **fields), default_config().classification_rules)
    return found.type, found.request_kind


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("The server crashes every night", TicketType.INCIDENT),
        ("Сервер не работает с утра", TicketType.INCIDENT),
        ("Drukarka nie działa", TicketType.INCIDENT),
        ("Servern kraschar varje natt", TicketType.INCIDENT),
        ("Question about report filters", TicketType.CONSULTATION),
        ("Вопрос по фильтрам отчёта", TicketType.CONSULTATION),
        ("Pytanie o filtry raportu", TicketType.CONSULTATION),
        ("Fråga om rapportfilter", TicketType.CONSULTATION),
        ("Please create a new user for Anna", TicketType.SERVICE_REQUEST),
        ("Нужен доступ к отчётам", TicketType.SERVICE_REQUEST),
        ("Prośba o dostęp do raportów", TicketType.SERVICE_REQUEST),
        ("Behörighet till rapporterna", TicketType.SERVICE_REQUEST),
        ("Planned upgrade of the database", TicketType.MAINTENANCE),
        ("Обновление базы до версии 5", TicketType.MAINTENANCE),
        ("Aktualizacja bazy do wersji 5", TicketType.MAINTENANCE),
        ("Uppgradering av databasen", TicketType.MAINTENANCE),
        ("Please change the invoice template", TicketType.CHANGE),
        ("Изменение шаблона счёта", TicketType.CHANGE),
        ("Zmiana szablonu faktury", TicketType.CHANGE),
        ("Ändring av fakturamallen", TicketType.CHANGE),
    ],
)
def test_keywords_in_each_language_give_the_ticket_type(subject: str, expected: TicketType) -> None:
    assert classified(subject)[0] is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Why did the nightly export stop?", RequestKind.FAILURE_ANALYSIS),
        ("Почему пропал отчёт?", RequestKind.FAILURE_ANALYSIS),
        ("Need a workaround for the export", RequestKind.PROBLEM_RESOLUTION),
        ("Jak naprawić eksport?", RequestKind.PROBLEM_RESOLUTION),
        ("Where is the setting for the export folder", RequestKind.CONFIGURATION_CONSULTATION),
        ("Inställning för exportmappen", RequestKind.CONFIGURATION_CONSULTATION),
        ("How do I export a report?", RequestKind.USAGE_CONSULTATION),
        ("Hur använder jag exporten?", RequestKind.USAGE_CONSULTATION),
    ],
)
def test_keywords_in_each_language_give_the_request_kind(
    subject: str, expected: RequestKind
) -> None:
    assert classified(subject)[1] is expected


def test_a_stated_type_wins_over_the_keywords() -> None:
    found = classify(
        ticket("The server crashes every night", type_hint=TicketType.CHANGE),
        default_config().classification_rules,
    )
    assert found.type is TicketType.CHANGE
    assert found.explanation[0] == "type change as stated"
    assert found.scores["incident"] == 1.0


def test_a_stated_request_kind_wins_over_the_keywords() -> None:
    kind = RequestKind.CONFIGURATION_CONSULTATION
    found = classify(
        ticket("Why does the export crash?", request_kind=kind),
        default_config().classification_rules,
    )
    assert found.request_kind is kind
    assert found.explanation[1] == "request kind configuration_consultation as stated"


def test_the_scores_are_visible_and_add_up_the_weights_of_the_matching_rules() -> None:
    rules = [
        ClassificationRule(id="boom", type=TicketType.INCIDENT, keywords=["boom"], weight=2),
        ClassificationRule(id="bang", type=TicketType.INCIDENT, keywords=["bang"], weight=0.5),
        ClassificationRule(id="ask", type=TicketType.CONSULTATION, keywords=["bang"]),
        ClassificationRule(id="quiet", type=TicketType.CHANGE, keywords=["hush"], weight=9),
    ]
    found = classify(ticket("Boom, then bang"), rules)
    assert found.scores == {"incident": 2.5, "consultation": 1.0}
    assert found.type is TicketType.INCIDENT
    assert found.explanation[0] == "type incident: score 2.5 from boom ('boom'); bang ('bang')"


def test_a_rule_counts_its_weight_once_however_many_of_its_words_appear() -> None:
    rules = [ClassificationRule(id="boom", type=TicketType.INCIDENT, keywords=["boom", "bang"])]
    assert classify(ticket("Boom bang boom"), rules).scores == {"incident": 1.0}


def test_without_any_evidence_a_ticket_is_an_incident_for_failure_analysis_by_default() -> None:
    found = classify(ticket("Invoices for March"), default_config().classification_rules)
    assert (found.type, found.request_kind) == (
        TicketType.INCIDENT,
        RequestKind.FAILURE_ANALYSIS,
    )
    assert found.scores == {}
    assert found.explanation == [
        "type incident by default (no rule matched)",
        "request kind failure_analysis by default (no rule matched)",
    ]


def test_a_stem_matches_words_that_start_with_it_and_a_word_only_itself() -> None:
    stem = [ClassificationRule(id="crash", type=TicketType.CHANGE, keywords=["crash*"])]
    word = [ClassificationRule(id="crash", type=TicketType.CHANGE, keywords=["crash"])]
    assert classify(ticket("It crashes"), stem).type is TicketType.CHANGE
    assert classify(ticket("Crash!"), stem).type is TicketType.CHANGE
    assert classify(ticket("Crash!"), word).type is TicketType.CHANGE
    assert classify(ticket("It crashes"), word).scores == {}


def test_a_keyword_does_not_match_inside_a_word() -> None:
    rules = [ClassificationRule(id="patch", type=TicketType.MAINTENANCE, keywords=["patch"])]
    assert classify(ticket("The dispatch screen is slow"), rules).scores == {}
    assert classified("The dispatch screen is slow")[0] is TicketType.INCIDENT


def test_a_category_rule_counts_whatever_the_case_of_the_category() -> None:
    billing = ClassificationRule(
        id="billing", type=TicketType.SERVICE_REQUEST, categories=["Billing"]
    )
    rules = [billing]
    found = classify(ticket("Invoices", category="  BILLING "), rules)
    assert found.type is TicketType.SERVICE_REQUEST
    assert "category" in found.explanation[0]
    assert classify(ticket("Invoices", category="shipping"), rules).scores == {}


def test_a_channel_rule_counts_only_for_that_channel() -> None:
    rules = [ClassificationRule(id="phoned", type=TicketType.CHANGE, channels=[Channel.PHONE])]
    assert classify(ticket(channel=Channel.PHONE), rules).type is TicketType.CHANGE
    assert classify(ticket(channel=Channel.EMAIL), rules).scores == {}


def test_a_business_critical_asset_counts_for_the_critical_asset_rule() -> None:
    rules = default_config().classification_rules
    found = classify(ticket("Invoices", asset="plc-7", asset_critical=True), rules)
    assert found.scores == {"incident": 0.5}
    assert found.explanation[0] == (
        "type incident: score 0.5 from critical-asset (critical asset plc-7)"
    )
    assert classify(ticket("Invoices", asset="plc-7"), rules).scores == {}


def test_the_best_score_wins_over_the_default() -> None:
    rules = [
        ClassificationRule(id="broken", type=TicketType.INCIDENT, keywords=["broken"]),
        ClassificationRule(id="change", type=TicketType.CHANGE, keywords=["change"], weight=2),
    ]
    assert classify(ticket("Broken template: please change it"), rules).type is TicketType.CHANGE


def test_a_tie_with_the_default_goes_to_the_default() -> None:
    found = classify(
        ticket("Question: the export is broken"), default_config().classification_rules
    )
    assert found.scores == {"incident": 1.0, "consultation": 1.0}
    assert found.type is TicketType.INCIDENT


def test_a_tied_request_kind_goes_to_the_default_kind_of_the_type() -> None:
    found = classify(
        ticket("Why and how do I use the export?", type_hint=TicketType.CONSULTATION),
        default_config().classification_rules,
    )
    assert found.scores["failure_analysis"] == found.scores["usage_consultation"] == 1.0
    assert found.request_kind is RequestKind.USAGE_CONSULTATION


@pytest.mark.parametrize(
    "subject",
    ["Please hurry with the invoice copies", "Jakość wydruku faktur", "Czyszczenie kolejki faktur"],
)
def test_a_short_question_word_does_not_make_a_consultation_of_a_longer_word(
    subject: str,
) -> None:
    assert classified(subject)[0] is not TicketType.CONSULTATION


# Impact and urgency


def levels(subject: str, **fields: object) -> tuple[Level, Level, list[str]]:
    return derive_levels(ticket(subject, **fields), default_config().signals)


def test_stated_impact_and_urgency_win_over_the_words() -> None:
    impact, urgency, why = levels("Urgent: all users", impact=L, urgency=L)
    assert (impact, urgency) == (L, L)
    assert why == ["impact low as stated", "urgency low as stated"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("All users are affected", H),
        ("Все пользователи без отчётов", H),
        ("Wszyscy mają problem z raportem", H),
        ("Alla användare saknar rapporten", H),
        ("Only me sees this", L),
        ("Один пользователь без отчёта", L),
        ("Tylko ja mam ten problem", L),
        ("Bara jag har problemet", L),
    ],
)
def test_words_tell_the_impact(subject: str, expected: Level) -> None:
    impact, urgency, _ = levels(subject)
    assert (impact, urgency) == (expected, M)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Urgent: invoices", H),
        ("Срочно: счета", H),
        ("Pilne: faktury", H),
        ("Brådskande: fakturor", H),
        ("No rush: invoices", L),
        ("Когда будет время: счета", L),
        ("Bez pośpiechu: faktury", L),
        ("Ingen brådska: fakturor", L),
    ],
)
def test_words_tell_the_urgency(subject: str, expected: Level) -> None:
    impact, urgency, _ = levels(subject)
    assert (impact, urgency) == (M, expected)


def test_without_stated_levels_or_words_impact_and_urgency_are_medium() -> None:
    assert levels("Invoices for March") == (
        M,
        M,
        ["impact medium by default", "urgency medium by default"],
    )


def test_the_explanation_names_the_words_found() -> None:
    _, _, why = levels("Urgent", description="Nobody can log in, production is stopped")
    assert why == [
        "impact high from the words 'production', 'nobody can'",
        "urgency high from the words 'urgent'",
    ]


def test_custom_signals_are_used() -> None:
    signals = TextSignals(impact_high=["Fleet"], urgency_low=["someday"])
    impact, urgency, _ = derive_levels(ticket("Fleet report, someday"), signals)
    assert (impact, urgency) == (H, L)


@pytest.mark.parametrize(
    "subject", ["Not urgent: a typo on the login page", "Не срочно: опечатка на странице входа"]
)
def test_saying_it_is_not_urgent_gives_low_urgency(subject: str) -> None:
    assert levels(subject)[1] is L
