"""Reporting's pure rules: which counters an event moves, and where an event was read."""

from __future__ import annotations

import re
from typing import Any

from shared.events import Event
from shared.events.intake import TicketCreated
from shared.events.sla import SlaBreached, SlaClockStarted, SlaMet
from shared.events.triage import (
    TicketAssigned,
    TicketClosed,
    TicketReopened,
    TicketResolved,
    TicketTriaged,
)

COUNTED_TYPES = frozenset(
    cls.event_type()
    for cls in (
        TicketCreated,
        TicketTriaged,
        TicketAssigned,
        TicketResolved,
        TicketClosed,
        TicketReopened,
        SlaClockStarted,
        SlaBreached,
        SlaMet,
    )
)
_UNSAFE = re.compile(r"[.$\s]")


def _key(value: str) -> str:
    """Counter names become document keys, which may hold neither '.' nor a leading '$'."""
    return _UNSAFE.sub("_", value)[:80] or "_"


def increments(event: Event[Any]) -> dict[str, int]:
    """Counter name -> increment for one event; empty for events that count nothing."""
    if isinstance(event, TicketCreated):
        organization = _key(event.data.organization_id or "-")
        return {
            "tickets_created": 1,
            f"by_channel.{_key(event.data.channel.value)}": 1,
            f"by_organization.{organization}": 1,
        }
    if isinstance(event, TicketAssigned):
        return {"assignments": 1, f"by_agent.{_key(event.data.assignee)}": 1}
    if isinstance(event, TicketTriaged):
        return {
            "tickets_triaged": 1,
            f"by_priority.{_key(event.data.priority.value)}": 1,
            f"by_queue.{_key(event.data.queue)}": 1,
        }
    simple = {
        TicketResolved: "tickets_resolved",
        TicketClosed: "tickets_closed",
        TicketReopened: "tickets_reopened",
        SlaClockStarted: "sla_clocks_started",
        SlaBreached: "sla_breaches",
        SlaMet: "sla_met",
    }
    for cls, name in simple.items():
        if isinstance(event, cls):
            return {name: 1}
    return {}


def stream_key(topic: str, partition: int) -> str:
    """A topic partition as a document key: read models remember per partition the last offset
    they applied (the events of a partition come in offset order), so a redelivery is skipped."""
    return f"{_key(topic)}|{partition}"


def add_into(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Sum nested counter dicts (one a day) into `total`."""
    for key, value in part.items():
        if isinstance(value, dict):
            add_into(total.setdefault(key, {}), value)
        elif isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
