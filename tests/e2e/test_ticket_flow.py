"""A ticket followed from POST to the reporting summary, through HTTP and Kafka only."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest

from shared.devstack import Stack, load_demo
from shared.events import parse_event
from shared.smtp_sink import MailSink
from tests.helpers import SECRET, Isolation, TopicReader, auth, wait_for

pytestmark = pytest.mark.e2e
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SOURCES = {"ticket.created": "intake", "ticket.triaged": "triage", "sla.clock_started": "sla"}
FLOW = tuple(SOURCES)


async def test_a_ticket_is_numbered_triaged_clocked_indexed_and_counted(
    system: tuple[Stack, Isolation], mail_sink: tuple[MailSink, int]
) -> None:
    stack, iso = system
    headers = auth(["agent"])
    body = {
        "subject": "Database replication lag on site B",
        "description": "Lag over 5 minutes",
        "requester": {"email": "ops@acme.example"},
        "organization_id": "acme",
        "impact": "high",
        "urgency": "high",
        "channel": "phone",
    }
    async with httpx.AsyncClient(timeout=10, headers=headers) as http:
        created = await http.post(f"{stack.url('intake')}/v1/tickets", json=body)
        assert created.status_code == 201, created.text
        ticket_id, number = created.json()["id"], created.json()["number"]
        assert number == "HD-000001"

        async def get(service: str, path: str) -> dict[str, Any] | None:
            response = await http.get(f"{stack.url(service)}{path}")
            return response.json() if response.status_code == 200 else None

        async def counted() -> dict[str, Any] | None:
            summary = await get("reporting", "/v1/summary")
            return summary if summary and summary["sla_clocks_started"] == 1 else None

        summary = await wait_for(counted, within=60, what="the ticket in the summary")
        item = await get("triage", f"/v1/work-items/{ticket_id}")
        clock = await get("sla", f"/v1/sla/clocks/{ticket_id}")
        similar = await wait_for(
            lambda: get("problems", f"/v1/suggestions/{ticket_id}"), what="the suggestions"
        )
    assert summary["tickets_created"] == summary["tickets_triaged"] == 1
    assert summary["by_priority"] == {"highest": 1} and summary["by_channel"] == {"phone": 1}
    assert item is not None and item["priority"] == "highest" and item["queue"] == "verification"
    assert (
        clock is not None and clock["policy_id"] == "bronze/highest" and clock["state"] == "running"
    )
    assert similar["suggestions"] == []  # nothing known yet to suggest
    acknowledgement = await wait_for(lambda: _first(mail_sink[0].received), what="the receipt")
    assert f"[{number}]".encode() in acknowledgement and b"To: ops@acme.example" in acknowledgement

    topics = [iso.topic(p) for p in ("intake", "triage", "sla")]
    async with TopicReader(iso.infra.kafka, *topics) as reader:
        await reader.read_until(lambda rs: {parse_event(r.value).type for r in rs} >= set(FLOW))
    events = {e["type"]: e for e in reader.events()}
    for record in reader.records:
        assert record.key == ticket_id.encode()
    for kind in FLOW:
        assert_valid_envelope(events[kind], ticket_id)
    origin = events["ticket.created"]["id"]
    assert {events[k]["correlationid"] for k in FLOW} == {origin}
    assert events["ticket.created"]["data"]["number"] == number
    assert events["sla.clock_started"]["data"]["priority"] == "highest"


def assert_valid_envelope(event: dict[str, Any], ticket_id: str) -> None:
    assert event["specversion"] == "1.0"
    assert UUID.match(event["id"]) and uuid.UUID(event["id"])
    assert event["source"] == SOURCES[event["type"]]
    assert event["subject"] == ticket_id
    assert event["dataschema"] == f"helpdesk/{event['type']}/1"
    assert event["datacontenttype"] == "application/json"
    assert event["time"].endswith("Z")
    parse_event(event)  # validates data against the event class


async def test_the_demo_configuration_loads_once_and_drives_entitlement_and_priority(
    system: tuple[Stack, Isolation],
) -> None:
    stack, iso = system
    tokens = await asyncio.to_thread(load_demo, stack, SECRET)
    await asyncio.to_thread(load_demo, stack, SECRET)  # a second load changes nothing
    async with httpx.AsyncClient(timeout=10, headers=auth(["agent"])) as http:
        listing = (await http.get(f"{stack.url('intake')}/v1/tickets")).json()["items"]
        agents = (await http.get(f"{stack.url('triage')}/v1/agents")).json()["items"]

        async def work_items() -> list[dict[str, Any]] | None:
            items = [
                await http.get(f"{stack.url('triage')}/v1/work-items/{t['id']}") for t in listing
            ]
            if not all(i.status_code == 200 for i in items):
                return None
            found = [i.json() for i in items]  # assigned, unless verification (done by hand)
            settled = all(i["assignee"] or i["queue"] == "verification" for i in found)
            return found if settled else None

        items = {i["subject"]: i for i in await wait_for(work_items, within=60, what="triage")}
    assert len(listing) == 3 and len(agents) == 6
    assert set(tokens) == {"sue.lead", "ann.first", "carla"}
    boot = items["Line 3 controller does not boot after update"]
    assert (boot["organization_id"], boot["service_level"], boot["entitled"]) == (
        "acme",
        "platinum",
        True,
    )
    assert (boot["priority"], boot["queue"], boot["type"]) == ("highest", "operations", "incident")
    assert (boot["assignee"], boot["status"]) == ("tom.first", "assigned")  # the one fit agent
    usage = items["How do I export the monthly usage report?"]
    assert (usage["service_level"], usage["type"], usage["priority"]) == (
        "silver",
        "consultation",
        "lowest",
    )
    licence = items["Licence key rejected on the new workstation"]
    assert (licence["organization_id"], licence["entitled"], licence["queue"]) == (
        "initech",
        False,
        "verification",
    )
    assert licence["assignee"] is None  # verification is worked by hand


async def _first(items: list[bytes]) -> bytes | None:
    return items[0] if items else None
