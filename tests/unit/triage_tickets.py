"""A new ticket as triage receives it, for the triage rule tests."""

from __future__ import annotations

from datetime import UTC, datetime

from services.triage.domain import PriorityMatrix, default_config
from shared.events.common import Channel, Level, Person
from shared.events.intake import TicketCreatedData

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW


def ticket(subject: str = "Invoices", **fields: object) -> TicketCreatedData:
    base: dict[str, object] = dict(
        ticket_id="t-1",
        number="HD-000001",
        subject=subject,
        description="",
        channel=Channel.WEB,
        requester=Person(email="anna@customer.example"),
        created_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        entitled=True,
    )
    return TicketCreatedData.model_validate(base | fields)


def matrix() -> PriorityMatrix:
    return default_config().matrix
