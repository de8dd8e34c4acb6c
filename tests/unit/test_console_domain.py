"""The console's rules: who an account is to the services, what a viewer may see live, the
sign-in limit, and remaining time as people read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.console.domain import (
    Account,
    LiveEvent,
    LoginLimit,
    Persona,
    Viewer,
    due_mark,
    limit_keys,
    may_see,
    remaining,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def account(persona: Persona, **fields: object) -> Account:
    return Account.model_validate(
        {"username": "u", "password_hash": "$argon2id$x", "persona": persona, "created_at": NOW}
        | fields
    )


def test_accounts_map_to_an_agent_or_to_a_contact_of_an_organisation() -> None:
    agent = account(Persona.AGENT, agent_id="ann.first", name="Ann")
    boss = account(Persona.SUPERVISOR, agent_id="sue.lead")
    customer = account(Persona.CUSTOMER, organization_id="acme", email="carla@acme.example")
    assert agent.claims() == {"sub": "ann.first", "roles": ["agent"], "name": "Ann", "email": None}
    assert boss.claims()["roles"] == ["agent", "supervisor"]
    assert customer.claims() | {"name": None} == {
        "sub": "carla@acme.example",
        "roles": ["customer"],
        "org": "acme",
        "name": None,
        "email": "carla@acme.example",
    }
    for persona, fields in [
        (Persona.AGENT, {}),
        (Persona.AGENT, {"agent_id": "a", "organization_id": "acme"}),
        (Persona.CUSTOMER, {"organization_id": "acme"}),
        (Persona.CUSTOMER, {"email": "c@acme.example"}),
        (Persona.CUSTOMER, {"organization_id": "acme", "email": "c@a.example", "agent_id": "a"}),
        (Persona.AGENT, {"agent_id": "a", "language": "de"}),
        (Persona.AGENT, {"agent_id": "a", "username": "has space"}),
    ]:
        with pytest.raises(ValidationError):
            account(persona, **fields)


def live(kind: str, ticket: str | None = "t-1", internal: bool = False) -> LiveEvent:
    return LiveEvent("e", kind, ticket, "HD-000001", internal)


def test_staff_see_every_event_and_a_customer_only_its_organisations_public_ones() -> None:
    staff, acme = Viewer(staff=True), Viewer(staff=False, organization_id="acme")
    assert may_see(staff, live("problem.created", None), None)
    assert may_see(staff, live("ticket.message_added", internal=True), "globex")
    assert may_see(acme, live("ticket.created"), "acme")
    assert may_see(acme, live("ticket.resolved"), "acme")
    assert not may_see(acme, live("ticket.created"), "globex")
    assert not may_see(acme, live("ticket.created"), None)  # organisation unknown: not shown
    assert not may_see(acme, live("ticket.message_added", internal=True), "acme")
    assert not may_see(acme, live("ticket.triaged"), "acme")  # the team's own reading
    assert not may_see(acme, live("sla.breached"), "acme")
    assert not may_see(acme, live("problem.created", None), "acme")


def test_the_sign_in_limit_counts_per_username_and_address_within_its_window() -> None:
    limit = LoginLimit(5, timedelta(minutes=15))
    assert limit_keys(" Carla ", "10.0.0.1") == ("user:carla", "addr:10.0.0.1")
    assert not limit.blocked(4) and limit.blocked(5)
    assert limit.since(NOW) == NOW - timedelta(minutes=15)
    assert limit.retry_after(NOW - timedelta(minutes=10), NOW) == 301
    assert limit.retry_after(None, NOW) == 1


@pytest.mark.parametrize(
    ("seconds", "reads"),
    [
        (0, "due"),
        (-5, "due"),
        (30, "1 min"),
        (600, "10 min"),
        (3900, "1 h 05 min"),
        (90000, "1 d 1 h"),
    ],  # fmt: skip
)
def test_remaining_time_reads_as_people_say_it(seconds: int, reads: str) -> None:
    assert remaining(seconds) == reads


def test_a_worklist_row_is_marked_at_risk_within_the_hour_and_breached_once_due() -> None:
    assert due_mark(None, NOW) == ""
    assert due_mark(NOW + timedelta(hours=2), NOW) == ""
    assert due_mark(NOW + timedelta(minutes=30), NOW) == "at-risk"
    assert due_mark(NOW, NOW) == "breached"
