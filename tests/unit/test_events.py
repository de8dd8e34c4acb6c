"""The event contract: envelope, serialisation, registry, schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from shared.events import (
    EVENT_CLASSES,
    EVENTS_BY_PRODUCER,
    MalformedEvent,
    UnknownEvent,
    parse_event,
)
from shared.events.common import Channel, Level, Person, Priority, TicketStatus, TicketType
from shared.events.intake import TicketCreated, TicketCreatedData
from shared.events.schemas import render, schemas
from shared.events.triage import TicketTriaged, TicketTriagedData

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def created() -> TicketCreated:
    return TicketCreated.create(
        source="intake",
        subject="t-1",
        time=NOW,
        data=TicketCreatedData(
            ticket_id="t-1",
            number="HD-000001",
            subject="Printer offline",
            channel=Channel.EMAIL,
            requester=Person(email="a@b.example"),
            created_at=NOW,
        ),
    )


def test_a_new_event_is_a_cloudevent_that_starts_its_own_chain() -> None:
    event = created()
    body = json.loads(event.to_json())
    assert body["specversion"] == "1.0"
    assert body["type"] == "ticket.created" and body["source"] == "intake"
    assert body["subject"] == "t-1"
    assert body["dataschema"] == "helpdesk/ticket.created/1"
    assert body["correlationid"] == body["id"]
    assert body["time"] == "2026-11-22T10:00:00Z"
    assert body["data"]["number"] == "HD-000001"


def test_an_event_survives_the_round_trip_through_json() -> None:
    event = created()
    assert parse_event(event.to_json()) == event
    assert type(parse_event(event.to_json())) is TicketCreated


def test_a_follow_up_event_carries_the_chains_correlation_id() -> None:
    origin = created()
    follow = TicketTriaged.create(
        source="triage",
        subject="t-1",
        time=NOW,
        correlation_id=origin.correlationid,
        data=TicketTriagedData(
            ticket_id="t-1",
            number="HD-000001",
            type=TicketType.INCIDENT,
            impact=Level.LOW,
            urgency=Level.LOW,
            priority=Priority.LOW,
            queue="operations",
            tier=1,
            status=TicketStatus.OPEN,
        ),
    )
    assert follow.correlationid == origin.id != follow.id


def test_an_unknown_event_type_parses_as_unknown_rather_than_failing() -> None:
    body = json.loads(created().to_json()) | {"type": "ticket.teleported"}
    event = parse_event(json.dumps(body))
    assert isinstance(event, UnknownEvent) and event.type == "ticket.teleported"


def test_newer_producers_may_add_optional_fields() -> None:
    body = json.loads(created().to_json())
    body["data"]["mood"] = "cheerful"
    event = parse_event(body)
    assert isinstance(event, TicketCreated)
    assert event.model_dump()["data"]["mood"] == "cheerful"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"specversion": "0.3"}', "specversion"),
        (
            json.dumps(json.loads(created().to_json()) | {"data": {"ticket_id": "t"}}).encode(),
            "invalid ticket.created",
        ),
    ],
)
def test_what_is_not_a_valid_event_is_rejected_with_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        parse_event(raw)


def test_every_event_type_is_registered_once_with_its_producer() -> None:
    expected = {
        "intake": {
            "ticket.created",
            "ticket.message_added",
            "ticket.customer_replied",
            "ticket.feedback_received",
            "contact.entitlement_failed",
            "notification.sent",
            "notification.failed",
            "inbound.quarantined",
        },
        "triage": {
            "ticket.triaged",
            "ticket.assigned",
            "ticket.status_changed",
            "ticket.escalated",
            "ticket.resolved",
            "ticket.reopened",
            "ticket.closed",
        },
        "sla": {
            "sla.clock_started",
            "sla.clock_replanned",  # an addition to the architecture's list: new due times
            "sla.clock_paused",
            "sla.clock_resumed",
            "sla.warning",
            "sla.at_risk",
            "sla.breached",
            "sla.met",
            "sla.target_stopped",  # an addition: the business time a stopped target used
            "sla.clock_unplanned",  # an addition: a due time that cannot be planned (003)
        },
        "problems": {
            "problem.created",
            "problem.incident_linked",
            "problem.candidate_detected",
            "problem.resolved",
            "problem.closed",  # an addition: a closed problem with its lessons learned
            "known_error.published",
            "ticket.suggestions",
            "deficiency_report.opened",
            "deficiency_report.updated",
            "release.published",
            "change.requested",
            "change.approved",
            "change.rejected",
            "change.completed",
            "advisory.published",
        },
        "reporting": {"report.generated"},
    }
    actual = {p: {c.event_type() for c in classes} for p, classes in EVENTS_BY_PRODUCER.items()}
    assert actual == expected
    assert set(EVENT_CLASSES) == set().union(*expected.values())


@pytest.mark.parametrize("cls", sorted(EVENT_CLASSES.values(), key=lambda c: c.event_type()))
def test_every_event_has_a_json_schema_that_documents_its_data_fields(cls: Any) -> None:
    schema = TypeAdapter(cls).json_schema()
    data_ref = schema["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
    fields = schema["$defs"][data_ref]["properties"]
    undocumented = [name for name, spec in fields.items() if not spec.get("description")]
    assert undocumented == []


def test_the_published_json_schemas_match_the_event_classes() -> None:
    folder = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    expected = {name: render(schema) for name, schema in schemas().items()}
    published = {p.name: p.read_text() for p in folder.glob("*.json")}
    assert published == expected, "run `make schemas` and commit docs/schemas"
