"""Triage routes a ticket: routing rules and the configuration's checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.triage.domain import (
    RoutingRule,
    TriageConfig,
    decide,
    default_config,
    route,
)
from shared.events.common import (
    TicketType,
)
from shared.events.intake import TicketCreatedData
from tests.unit.triage_tickets import ticket

# Routing


def routed(
    t: TicketCreatedData, rules: list[RoutingRule], kind: TicketType = TicketType.INCIDENT
) -> tuple[str, str]:
    return route(t, kind, rules, "general")


def rule(rule_id: str = "special-rule", queue: str = "special", **conditions: Any) -> RoutingRule:
    return RoutingRule(id=rule_id, queue=queue, **conditions)


def test_a_ticket_without_a_valid_contract_goes_to_verification_whatever_the_rules() -> None:
    queue, why = routed(ticket(entitled=False), [rule(order=0)])
    assert queue == "verification"
    assert why == "queue verification: no valid contract matched"


def test_rules_are_tried_by_order_then_by_id() -> None:
    rules = [
        rule("beta", "q-beta", order=5),
        rule("alpha", "q-alpha", order=5),
        rule("zeta", "q-zeta", order=1, keywords=["nothing-here"]),
        rule("early", "q-early", order=2, organizations=["acme"]),
    ]
    assert routed(ticket(organization_id="acme"), rules)[0] == "q-early"
    assert routed(ticket(organization_id="globex"), rules)[0] == "q-alpha"


ROUTING_CONDITIONS: list[tuple[dict[str, Any], dict[str, Any], TicketType, bool]] = [
    ({"types": ["change"]}, {}, TicketType.CHANGE, True),
    ({"types": ["change"]}, {}, TicketType.INCIDENT, False),
    ({"categories": ["Billing"]}, {"category": "billing"}, TicketType.INCIDENT, True),
    ({"categories": ["Billing"]}, {"category": "shipping"}, TicketType.INCIDENT, False),
    ({"categories": ["Billing"]}, {}, TicketType.INCIDENT, False),
    ({"products": ["Navigator"]}, {"product": "NAVIGATOR"}, TicketType.INCIDENT, True),
    ({"products": ["Navigator"]}, {"product": "Compass"}, TicketType.INCIDENT, False),
    ({"assets": ["PLC-7"]}, {"asset": "plc-7"}, TicketType.INCIDENT, True),
    ({"assets": ["PLC-7"]}, {"asset": "plc-8"}, TicketType.INCIDENT, False),
    ({"keywords": ["invoice*"]}, {"subject": "Invoices missing"}, TicketType.INCIDENT, True),
    ({"keywords": ["invoice*"]}, {"description": "no invoices"}, TicketType.INCIDENT, True),
    ({"keywords": ["invoice"]}, {"description": "no invoices"}, TicketType.INCIDENT, False),
    ({"keywords": ["invoice"]}, {"subject": "Receipts missing"}, TicketType.INCIDENT, False),
    ({"organizations": ["acme"]}, {"organization_id": "acme"}, TicketType.INCIDENT, True),
    ({"organizations": ["acme"]}, {"organization_id": "globex"}, TicketType.INCIDENT, False),
    ({"organizations": ["acme"]}, {}, TicketType.INCIDENT, False),
]


@pytest.mark.parametrize(("conditions", "fields", "kind", "matches"), ROUTING_CONDITIONS)
def test_each_routing_condition_matches_its_value_and_nothing_else(
    conditions: dict[str, Any], fields: dict[str, Any], kind: TicketType, matches: bool
) -> None:
    queue, _ = routed(ticket(**fields), [rule(**conditions)], kind)
    assert queue == ("special" if matches else "general")


@pytest.mark.parametrize(
    ("organization", "kind", "matches"),
    [
        ("acme", TicketType.INCIDENT, True),
        ("globex", TicketType.INCIDENT, False),
        ("acme", TicketType.CHANGE, False),
    ],
)
def test_every_condition_of_a_routing_rule_must_hold(
    organization: str, kind: TicketType, matches: bool
) -> None:
    both = rule(types=["incident"], organizations=["acme"])
    queue, _ = routed(ticket(organization_id=organization), [both], kind)
    assert queue == ("special" if matches else "general")


def test_a_ticket_no_rule_matches_goes_to_the_default_queue() -> None:
    assert routed(ticket(), [rule(organizations=["acme"])]) == (
        "general",
        "queue general by default",
    )


def test_the_routing_reason_names_the_rule() -> None:
    assert routed(ticket(), [rule("billing-desk", "billing")]) == (
        "billing",
        "queue billing by routing rule billing-desk",
    )


def test_by_default_compatibility_questions_go_before_incidents_to_operations() -> None:
    config = default_config()
    compatible = decide(ticket("Is version 5 compatible with Windows 11? It fails"), config)
    failing = decide(ticket("The export fails"), config)
    asking = decide(ticket("Question about report filters"), config)
    assert (compatible.queue, failing.queue, asking.queue) == (
        "compatibility",
        "operations",
        "general-questions",
    )


# The configuration's checks


def config_with(**changes: Any) -> dict[str, Any]:
    base = default_config().model_dump()
    return base | changes


def test_the_default_configuration_is_valid_and_finds_its_queues() -> None:
    config = default_config()
    found = config.queue("verification")
    assert found is not None and found.auto_assign is False
    assert config.queue("nowhere") is None


def test_a_routing_rule_to_an_unknown_queue_is_refused() -> None:
    rules = [{"id": "lost", "queue": "nowhere"}]
    with pytest.raises(ValidationError, match="unknown queues: \\['nowhere'\\]"):
        TriageConfig.model_validate(config_with(routing_rules=rules))


def test_a_configuration_without_the_verification_queue_is_refused() -> None:
    queues = [q for q in default_config().model_dump()["queues"] if q["key"] != "verification"]
    with pytest.raises(ValidationError, match="verification"):
        TriageConfig.model_validate(config_with(queues=queues))


def test_a_configuration_without_its_default_queue_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown queues: \\['elsewhere'\\]"):
        TriageConfig.model_validate(config_with(default_queue="elsewhere"))
