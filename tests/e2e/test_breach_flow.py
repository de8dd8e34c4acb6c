"""A breach followed across the five processes: the SLA clock runs out, triage escalates the
ticket a tier up and alerts the queue, intake writes to the customer. Driven through HTTP, SMTP
and Kafka only."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from shared.devstack import Stack
from shared.smtp_sink import MailSink
from tests.helpers import Isolation, auth, wait_for

pytestmark = pytest.mark.e2e
ADMIN = auth(["admin", "supervisor"], sub="sue")


async def test_a_breach_escalates_alerts_the_queue_and_the_customer_is_told(
    system: tuple[Stack, Isolation], mail_sink: tuple[MailSink, int]
) -> None:
    stack, _ = system
    sink, _ = mail_sink
    quick = {  # a first response due within seconds, so the test need not wait for minutes
        "id": "platinum/highest",
        "service_level": "platinum",
        "priority": "highest",
        "target_seconds": {"first_response": 3, "next_update": 3600, "resolution": 7200},
        "calendar_id": "24x7",
    }
    org = {"id": "acme", "name": "ACME", "email_domains": ["acme.example"]}
    contract = {
        "id": "acme-1",
        "organization_id": "acme",
        "number": "SC-1",
        "service_level": "platinum",
        "valid_from": "2026-01-01",
        "valid_to": "2099-12-31",
    }
    team = [
        {
            "id": "tia",
            "name": "Tia",
            "email": "tia@help.example",
            "tier": 1,
            "queues": ["operations"],
        },
        {
            "id": "sam",
            "name": "Sam",
            "email": "sam@help.example",
            "tier": 2,
            "queues": ["operations"],
        },
    ]
    async with httpx.AsyncClient(timeout=10, headers=ADMIN) as http:

        def url(service: str, path: str) -> str:
            return stack.url(service) + path

        assert (
            await http.put(url("sla", "/v1/sla/policies/platinum/highest"), json=quick)
        ).is_success
        assert (await http.post(url("intake", "/v1/organizations"), json=org)).status_code == 201
        assert (await http.post(url("intake", "/v1/contracts"), json=contract)).status_code == 201
        for agent in team:
            assert (await http.post(url("triage", "/v1/agents"), json=agent)).status_code == 201
        ticket = {
            "subject": "Production line stopped: controller crashed",
            "requester": {"email": "ops@acme.example"},
            "impact": "high",
            "urgency": "high",
            "channel": "phone",
        }
        created = (await http.post(url("intake", "/v1/tickets"), json=ticket)).json()
        ticket_id, number = created["id"], created["number"]

        async def escalated() -> dict[str, Any] | None:
            item = await http.get(url("triage", f"/v1/work-items/{ticket_id}"))
            body: dict[str, Any] = item.json()
            return body if item.status_code == 200 and body.get("tier") == 2 else None

        item = await wait_for(escalated, within=60, what="the breach escalating the ticket")
        clock = (await http.get(url("sla", f"/v1/sla/clocks/{ticket_id}"))).json()

        async def alerted() -> list[Any] | None:  # alerts are written just after the hand-over
            alerts = await http.get(url("triage", "/v1/agents/tia/alerts"))
            found: list[Any] = alerts.json()["items"]
            return found or None

        alerts = await wait_for(alerted, within=10, what="the queue alerted of the escalation")

        async def apology() -> list[Any] | None:
            mails = [message_from_bytes(raw, policy=policy.default) for raw in sink.received]
            late = [m for m in mails if "sla_breach" in str(m.get("X-Switchboard-Notification"))]
            return late or None

        (mail,) = await wait_for(apology, within=30, what="the customer told of the breach")
    first = next(t for t in clock["targets"] if t["name"] == "first_response")
    assert first["breached"] and item["assignee"] == "sam" and item["breaches"] == 1
    assert len(alerts) == 1 and alerts[0]["number"] == number
    assert number in str(mail["Subject"]) and str(mail["To"]) == "ops@acme.example"
