"""Organisations, contracts and entitlement (intake); agents (triage); SLA policies (sla)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.intake.app import IntakeSettings
from services.intake.app import create_app as create_intake
from services.sla.app import SlaSettings
from services.sla.app import create_app as create_sla
from services.triage.app import TriageSettings
from services.triage.app import create_app as create_triage
from shared.events import parse_event
from shared.events.intake import ContactEntitlementFailed
from tests.helpers import Isolation, TopicReader, auth, in_process, pages

pytestmark = pytest.mark.integration
ADMIN = auth(["admin"])
ACME = {"id": "acme", "name": "ACME", "email_domains": ["ACME.example"]}


def contract(cid: str, level: str, valid_to: str) -> dict[str, Any]:
    return {
        "id": cid,
        "organization_id": "acme",
        "number": cid.upper(),
        "service_level": level,
        "valid_from": "2020-01-01",
        "valid_to": valid_to,
    }


@pytest.fixture
async def intake(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_intake(IntakeSettings())) as client:
        assert (await client.post("/v1/organizations", json=ACME, headers=ADMIN)).status_code == 201
        yield client


async def open_for(intake: httpx.AsyncClient, email: str) -> dict[str, Any]:
    body = {"subject": "Scanner offline", "requester": {"email": email}}
    created = await intake.post("/v1/tickets", json=body, headers=auth())
    assert created.status_code == 201, created.text
    return (await intake.get(f"/v1/tickets/{created.json()['id']}", headers=auth())).json()


async def test_a_contact_is_matched_by_domain_and_entitled_by_the_best_valid_contract(
    intake: httpx.AsyncClient,
) -> None:
    for c in (
        contract("old", "platinum", "2021-12-31"),
        contract("cur", "gold", "2099-12-31"),
        contract("low", "bronze", "2099-12-31"),
    ):
        assert (await intake.post("/v1/contracts", json=c, headers=ADMIN)).status_code == 201
    ticket = await open_for(intake, "Pat@Acme.Example")
    assert ticket["organization_id"] == "acme"
    assert (ticket["entitled"], ticket["contract_id"], ticket["service_level"]) == (
        True,
        "cur",
        "gold",
    )


async def test_a_named_contact_is_matched_by_address_before_any_domain(
    intake: httpx.AsyncClient,
) -> None:
    consultant = {
        "id": "initech",
        "name": "Initech",
        "email_domains": ["gmail.example"],  # a shared provider's domain, wrongly claimed
        "contacts": [{"email": "Kim.Private@Mail.example", "name": "Kim"}],
    }
    acme = {
        "id": "acme-ext",
        "name": "ACME external staff",
        "contacts": [{"email": "bob@gmail.example", "language": "sv"}],
    }
    for org in (consultant, acme):
        assert (await intake.post("/v1/organizations", json=org, headers=ADMIN)).status_code == 201
    assert (await open_for(intake, "kim.private@mail.example"))["organization_id"] == "initech"
    assert (await open_for(intake, "bob@gmail.example"))["organization_id"] == "acme-ext"
    assert (await open_for(intake, "eve@gmail.example"))["organization_id"] == "initech"
    assert (await open_for(intake, "nobody@else.example"))["organization_id"] is None


async def test_an_expired_contract_leaves_the_ticket_recorded_but_unentitled(
    intake: httpx.AsyncClient,
) -> None:
    await intake.post("/v1/contracts", json=contract("old", "gold", "2021-12-31"), headers=ADMIN)
    ticket = await open_for(intake, "pat@acme.example")
    assert (ticket["organization_id"], ticket["entitled"], ticket["service_level"]) == (
        "acme",
        False,
        None,
    )
    stranger = await open_for(intake, "someone@elsewhere.example")
    assert (stranger["organization_id"], stranger["entitled"]) == (None, False)


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/v1/organizations", ACME, ADMIN, 409),
        ("/v1/organizations", {**ACME, "id": "Bad Key!"}, ADMIN, 422),
        ("/v1/organizations", {**ACME, "id": "x2", "email_domains": ["not a domain"]}, ADMIN, 422),
        ("/v1/organizations", {**ACME, "id": "x3"}, auth(["agent"]), 403),
        (
            "/v1/contracts",
            {**contract("c1", "gold", "2030-01-01"), "organization_id": "nobody"},
            ADMIN,
            400,
        ),
        (
            "/v1/contracts",
            {**contract("c2", "gold", "2030-01-01"), "valid_to": "2019-01-01"},
            ADMIN,
            422,
        ),
        ("/v1/contracts", {**contract("c3", "diamond", "2030-01-01")}, ADMIN, 422),
    ],
)
async def test_bad_customer_records_are_refused_with_a_problem(
    intake: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    response = await intake.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_customer_sees_its_own_organisation_and_no_other(intake: httpx.AsyncClient) -> None:
    assert (
        await intake.get("/v1/organizations/acme", headers=auth(["customer"], "acme"))
    ).status_code == 200
    assert (
        await intake.get("/v1/organizations/acme", headers=auth(["customer"], "globex"))
    ).status_code == 404
    assert (
        await intake.get("/v1/organizations", headers=auth(["customer"], "acme"))
    ).status_code == 403


async def test_agents_are_registered_once_and_listed_by_queue(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    agent = {
        "id": "ann.first",
        "name": "Ann",
        "email": "ann@sb.example",
        "tier": 1,
        "queues": ["operations"],
        "skills": ["network"],
    }
    async with in_process(create_triage(TriageSettings())) as triage:
        assert (await triage.post("/v1/agents", json=agent, headers=ADMIN)).status_code == 201
        again = await triage.post("/v1/agents", json=agent, headers=ADMIN)
        tier4 = await triage.post("/v1/agents", json={**agent, "id": "x", "tier": 4}, headers=ADMIN)
        by_agent = await triage.post("/v1/agents", json={**agent, "id": "y"}, headers=auth())
        ops = await triage.get("/v1/agents?queue=operations", headers=auth())
        other = await triage.get("/v1/agents?queue=compatibility", headers=auth())
    assert (again.status_code, tier4.status_code, by_agent.status_code) == (409, 422, 403)
    assert [a["id"] for a in ops.json()["items"]] == ["ann.first"]
    assert ops.json()["items"][0]["capacity"] == 10
    assert other.json()["items"] == []


async def test_sla_shows_the_policy_targets_it_applies(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_sla(SlaSettings())) as sla:
        policies = (await sla.get("/v1/sla/policies", headers=auth())).json()["items"]
        calendars = (await sla.get("/v1/sla/calendars", headers=auth())).json()["items"]
    by_id = {p["id"]: p["target_seconds"] for p in policies}
    assert len(by_id) == 20
    assert by_id["platinum/highest"] == {
        "first_response": 900,
        "next_update": 3600,
        "resolution": 14400,
    }
    assert [c["id"] for c in calendars] == ["24x7", "office"]
    assert calendars[1]["holiday_country"] == "SE" and calendars[0]["always_on"]


COVERED = {
    **contract("main", "gold", "2099-12-31"),
    "licence_keys": ["ABCD-1234-EFGH"],
    "sites": [{"id": "plant-b", "name": "Plant B"}],
    "assets": [
        {"id": "SRV-0042", "name": "Line controller", "site_id": "plant-b", "critical": True}
    ],
}


@pytest.mark.parametrize(
    "naming",
    [{"contract_number": "main"}, {"licence_key": "abcd 1234 efgh"}],
    ids=["contract number", "licence key"],
)
async def test_a_request_naming_its_contract_is_entitled_and_its_asset_fills_in_the_site(
    intake: httpx.AsyncClient, naming: dict[str, str]
) -> None:
    assert (await intake.post("/v1/contracts", json=COVERED, headers=ADMIN)).status_code == 201
    body = {
        "subject": "Line stopped",
        "requester": {"email": "night-shift@gmail.example"},  # no organisation by domain
        "asset": "srv-0042",
        "channel": "phone",
        **naming,
    }
    created = await intake.post("/v1/tickets", json=body, headers=auth(["agent"]))
    assert created.status_code == 201, created.text
    ticket = (await intake.get(f"/v1/tickets/{created.json()['id']}", headers=auth())).json()
    assert (ticket["organization_id"], ticket["contract_id"], ticket["entitled"]) == (
        "acme",
        "main",
        True,
    )
    assert (ticket["asset"], ticket["site"], ticket["asset_critical"]) == (
        "SRV-0042",
        "plant-b",
        True,
    )
    assert ticket["messages"][0]["author_type"] == "agent"  # logged by the agent on the phone


async def test_a_contract_number_of_another_organisation_buys_no_service_level(
    intake: httpx.AsyncClient, isolated: Isolation
) -> None:
    other = {"id": "globex", "name": "Globex", "email_domains": ["globex.example"]}
    await intake.post("/v1/organizations", json=other, headers=ADMIN)
    await intake.post("/v1/contracts", json=COVERED, headers=ADMIN)
    body = {"subject": "Please help", "contract_number": "MAIN"}
    created = await intake.post("/v1/tickets", json=body, headers=auth(["customer"], org="globex"))
    assert created.status_code == 201, created.text
    ticket = (await intake.get(f"/v1/tickets/{created.json()['id']}", headers=auth())).json()
    assert (ticket["organization_id"], ticket["entitled"], ticket["service_level"]) == (
        "globex",
        False,
        None,
    )
    assert ticket["entitlement_reason"] == "number MAIN matches no contract"  # not whose
    async with TopicReader(isolated.infra.kafka, isolated.topic("intake")) as reader:
        await reader.read_until(
            lambda rs: any(b"contact.entitlement_failed" in r.value for r in rs)
        )
    (failed,) = [
        parse_event(r.value) for r in reader.records if b"contact.entitlement_failed" in r.value
    ]
    assert isinstance(failed, ContactEntitlementFailed)
    assert (failed.data.number, failed.data.reason) == (
        ticket["number"],
        ticket["entitlement_reason"],
    )


async def test_a_licence_key_belongs_to_one_contract_only(intake: httpx.AsyncClient) -> None:
    assert (await intake.post("/v1/contracts", json=COVERED, headers=ADMIN)).status_code == 201
    twin = {**contract("twin", "bronze", "2099-12-31"), "licence_keys": ["abcd-1234-efgh"]}
    clash = await intake.post("/v1/contracts", json=twin, headers=ADMIN)
    assert clash.status_code == 409
    assert "belongs to contract main" in clash.json()["detail"]
    fixed = await intake.post("/v1/contracts", json={**twin, "licence_keys": []}, headers=ADMIN)
    assert fixed.status_code == 201, fixed.text  # the failed attempt left no key behind


async def test_an_agent_records_a_question_answered_on_the_spot(
    intake: httpx.AsyncClient,
) -> None:
    body = {
        "subject": "Where is the release schedule?",
        "requester": {"email": "pat@acme.example"},
        "channel": "chat",
        "resolved_on_contact": True,
        "resolution": "It is on the customer portal under Releases.",
    }
    created = await intake.post("/v1/tickets", json=body, headers=auth(["agent"]))
    assert created.status_code == 201, created.text
    ticket = (await intake.get(f"/v1/tickets/{created.json()['id']}", headers=auth())).json()
    assert ticket["resolved_on_contact"] is True and ticket["channel"] == "chat"
    assert [(m["author_type"], m["body"]) for m in ticket["messages"]][1] == (
        "agent",
        "It is on the customer portal under Releases.",
    )
    as_customer = await intake.post(
        "/v1/tickets", json=body, headers=auth(["customer"], org="acme")
    )
    assert as_customer.status_code == 403


async def test_a_domain_or_contact_another_organisation_owns_is_refused_and_named(
    intake: httpx.AsyncClient,
) -> None:
    ann = {"email": "ann@partner.example", "name": "Ann"}
    first = {**ACME, "id": "acme2", "email_domains": ["acme2.example"], "contacts": [ann]}
    assert (await intake.post("/v1/organizations", json=first, headers=ADMIN)).status_code == 201
    domain = {"id": "rogue", "name": "Rogue", "email_domains": ["other.example", "ACME.example"]}
    contact = {"id": "rogue", "name": "Rogue", "contacts": [{"email": "Ann@Partner.example"}]}
    by_domain = await intake.post("/v1/organizations", json=domain, headers=ADMIN)
    by_contact = await intake.post("/v1/organizations", json=contact, headers=ADMIN)
    assert by_domain.status_code == 409
    assert by_domain.json()["detail"] == "domain acme.example belongs to organisation acme"
    assert by_contact.status_code == 409
    assert (
        by_contact.json()["detail"] == "contact ann@partner.example belongs to organisation acme2"
    )
    # nothing of a refused organisation stays: its other domain is free for the next one
    fine = {"id": "rogue", "name": "Fine", "email_domains": ["other.example"]}
    assert (await intake.post("/v1/organizations", json=fine, headers=ADMIN)).status_code == 201
    again = await intake.post("/v1/organizations", json=fine, headers=ADMIN)
    assert again.status_code == 409 and "rogue" in again.json()["detail"]


async def test_organisations_and_agents_are_listed_page_by_page(
    intake: httpx.AsyncClient, isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        org = {"id": f"org{n}", "name": f"Org {n}", "email_domains": [f"org{n}.example"]}
        assert (await intake.post("/v1/organizations", json=org, headers=ADMIN)).status_code == 201
    orgs = await pages(intake, "/v1/organizations", 2, "id")
    assert orgs == [["acme", "org0"], ["org1", "org2"], ["org3"]]
    bad = await intake.get("/v1/organizations", params={"cursor": "%%"}, headers=ADMIN)
    assert bad.status_code == 400
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    async with in_process(create_triage(TriageSettings())) as triage:
        for who in ("cy", "al", "bo"):
            agent = {"id": who, "name": who, "email": f"{who}@sb.example", "tier": 1}
            assert (await triage.post("/v1/agents", json=agent, headers=ADMIN)).status_code == 201
        assert await pages(triage, "/v1/agents", 2, "id") == [["al", "bo"], ["cy"]]
