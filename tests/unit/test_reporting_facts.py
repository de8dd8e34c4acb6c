"""The fact document's rules: each topic's part, applied once per event, merged on reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.reporting.facts import applied, merged
from shared.events.common import AuthorType, Channel, Person, Visibility
from shared.events.intake import TicketMessageAdded, TicketMessageAddedData
from shared.events.sla import SlaBreached, SlaMet, SlaTargetData
from shared.events.triage import (
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
ONE = {"ticket_id": "t-1", "number": "HD-000001"}


def message(minutes: int, author: AuthorType, visibility: Visibility) -> TicketMessageAdded:
    data = TicketMessageAddedData(
        **ONE,
        message_id=f"m-{minutes}",
        author_type=author,
        author=Person(email="x@y.example"),
        visibility=visibility,
        channel=Channel.EMAIL,
    )
    return TicketMessageAdded.create(
        source="intake", subject="t-1", time=T0 + timedelta(minutes=minutes), data=data
    )


def test_an_event_is_applied_once_and_one_that_says_nothing_new_changes_nothing() -> None:
    resolved = TicketResolved.create(
        source="triage", subject="t-1", time=T0, data=TicketResolvedData(**ONE, resolution="x")
    )
    part = applied({}, resolved)
    assert part is not None and part["resolutions"] == 1
    assert applied(part, resolved) is None
    note = message(5, AuthorType.AGENT, Visibility.INTERNAL)
    assert applied(part, note) is None


def test_the_first_response_is_the_first_public_agent_message() -> None:
    part: dict[str, object] = {}
    for event in (
        message(1, AuthorType.CUSTOMER, Visibility.PUBLIC),
        message(2, AuthorType.AGENT, Visibility.INTERNAL),
        message(3, AuthorType.AGENT, Visibility.PUBLIC),
        message(4, AuthorType.AGENT, Visibility.PUBLIC),
    ):
        part = applied(part, event) or part
    assert part["first_response_at"] == T0 + timedelta(minutes=3)


def test_a_breached_target_stays_breached_when_it_is_met_later() -> None:
    def target(kind: type[SlaMet] | type[SlaBreached], name: str) -> SlaMet | SlaBreached:
        return kind.create(
            source="sla", subject="t-1", time=T0, data=SlaTargetData(**ONE, target=name)
        )

    part = applied({}, target(SlaBreached, "resolution")) or {}
    part = applied(part, target(SlaMet, "first_response")) or part
    assert applied(part, target(SlaMet, "resolution")) is None
    assert part["sla"] == {"resolution": "breached", "first_response": "met"}


def test_merged_facts_carry_durations_and_first_contact_resolution() -> None:
    intake = {"created_at": T0, "resolved_on_contact": False, "events": ["a"]}
    triage = {"resolved_at": T0 + timedelta(hours=2), "first_contact": True, "events": ["b"]}
    fact = merged([intake, triage])
    assert fact["time_to_resolve"] == 7200.0 and "events" not in fact
    assert fact["first_contact_resolution"] is True
    reopened = TicketReopened.create(
        source="triage",
        subject="t-1",
        time=T0,
        data=TicketReopenedData(**ONE, reason="reply", reopen_count=1),
    )
    again = applied(triage, reopened)
    assert again is not None and merged([intake, again])["first_contact_resolution"] is False
