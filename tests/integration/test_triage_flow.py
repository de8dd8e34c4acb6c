"""Triage on real Kafka and FerretDB: ticket.created in, work item stored, ticket.triaged out."""

from __future__ import annotations

import json

import pytest

from services.triage.app import TriageSettings, create_app
from shared.events import parse_event
from shared.events.triage import TicketTriaged
from tests.helpers import Isolation, TopicReader, auth, in_process, produce, wait_for
from tests.integration.test_bus import ticket_created

pytestmark = pytest.mark.integration


async def test_triage_stores_a_work_item_and_announces_it(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in isolated.env().items():
        monkeypatch.setenv(key, value)
    created = ticket_created("ticket-77")
    async with in_process(create_app(TriageSettings())) as client:
        await produce(
            isolated.infra.kafka, isolated.topic("intake"), "ticket-77", created.to_json()
        )

        async def work_item() -> dict[str, object] | None:
            response = await client.get("/v1/work-items/ticket-77", headers=auth())
            return response.json() if response.status_code == 200 else None

        item = await wait_for(work_item, what="the work item")
        worklist = await client.get("/v1/queues/verification/work-items", headers=auth())
        customer = await client.get("/v1/work-items/ticket-77", headers=auth(["customer"], "o1"))
        asyncapi = (await client.get("/asyncapi.json")).json()
    assert item["queue"] == "verification"  # no organisation matched: verification first
    assert item["priority"] == "normal" and item["status"] == "open" and item["tier"] == 1
    assert [w["ticket_id"] for w in worklist.json()["items"]] == ["ticket-77"]
    assert customer.status_code == 403
    assert isolated.topic("intake") in json.dumps(asyncapi["channels"])
    async with TopicReader(isolated.infra.kafka, isolated.topic("triage")) as reader:
        (record,) = await reader.read_until(lambda r: len(r) >= 1)
    event = parse_event(record.value)
    assert isinstance(event, TicketTriaged)
    assert event.subject == "ticket-77" and record.key == b"ticket-77"
    assert event.correlationid == created.id
    assert event.data.number == "HD-000042"
    assert json.loads(record.value)["dataschema"] == "helpdesk/ticket.triaged/1"
