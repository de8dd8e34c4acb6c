"""The fact document's rules: each event applied once, the same facts whatever order the topics'
events interleave in; and each report reads for a period every fact its figures count."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reporting.facts import FactDocument, Position, applied, derived
from services.reporting.periods import OPEN, entries, hours_of, served, span_keys
from services.reporting.reads import READS, Span, incidents_of, selects
from services.reporting.reports import PRIORITY_ORDER, Inputs, build
from shared.events import Event
from shared.events.common import AuthorType, Channel, Person, Visibility
from shared.events.intake import (
    TicketCreated,
    TicketCreatedData,
    TicketMessageAdded,
    TicketMessageAddedData,
)
from shared.events.sla import SlaBreached, SlaMet, SlaTargetData
from shared.events.triage import (
    TicketReopened,
    TicketReopenedData,
    TicketResolved,
    TicketResolvedData,
    TicketTriaged,
    TicketTriagedData,
)

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
ONE = {"ticket_id": "t-1", "number": "HD-000001"}


def at(offset: int, stream: str = "intake|0") -> Position:
    return Position(stream, offset)


def created() -> TicketCreated:
    data = TicketCreatedData(
        **ONE,
        subject="VPN drops",
        channel=Channel.WEB,
        requester=Person(email="ann@acme.example"),
        service_level="gold",
        created_at=T0,
    )
    return TicketCreated.create(source="intake", subject="t-1", time=T0, data=data)


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


def resolved(minutes: float = 0, first_contact: bool = False) -> TicketResolved:
    return TicketResolved.create(
        source="triage",
        subject="t-1",
        time=T0 + timedelta(minutes=minutes),
        data=TicketResolvedData(**ONE, resolution="x", first_contact=first_contact),
    )


def test_an_event_is_applied_once_and_one_that_says_nothing_new_changes_nothing() -> None:
    event = resolved()
    doc = applied(FactDocument(), event, at(0, "triage|0"))
    assert doc is not None and doc.fact["resolutions"] == 1
    assert applied(doc, event, at(7, "triage|0")) is None  # published again, a later offset
    assert applied(doc, resolved(5), at(0, "triage|0")) is None  # Kafka redelivers offset 0
    note = message(5, AuthorType.AGENT, Visibility.INTERNAL)
    assert applied(doc, note, at(3)) is None
    again = applied(doc, resolved(9), at(1, "triage|0"))
    assert again is not None and again.fact["resolutions"] == 2


def test_the_first_response_is_the_first_public_agent_message() -> None:
    doc = FactDocument()
    for offset, event in enumerate(
        (
            message(1, AuthorType.CUSTOMER, Visibility.PUBLIC),
            message(2, AuthorType.AGENT, Visibility.INTERNAL),
            message(3, AuthorType.AGENT, Visibility.PUBLIC),
            message(4, AuthorType.AGENT, Visibility.PUBLIC),
        )
    ):
        doc = applied(doc, event, at(offset)) or doc
    assert doc.fact["first_response_at"] == T0 + timedelta(minutes=3)


def test_a_breached_target_stays_breached_when_it_is_met_later() -> None:
    def target(kind: type[SlaMet] | type[SlaBreached], name: str) -> SlaMet | SlaBreached:
        return kind.create(
            source="sla", subject="t-1", time=T0, data=SlaTargetData(**ONE, target=name)
        )

    doc = applied(FactDocument(), target(SlaBreached, "resolution"), at(0, "sla|0"))
    assert doc is not None
    doc = applied(doc, target(SlaMet, "first_response"), at(1, "sla|0")) or doc
    assert applied(doc, target(SlaMet, "resolution"), at(2, "sla|0")) is None
    assert doc.fact["sla"] == {"resolution": "breached", "first_response": "met"}


def test_the_facts_carry_durations_and_first_contact_resolution() -> None:
    doc = applied(FactDocument(), created(), at(0))
    doc = applied(doc or FactDocument(), resolved(120, first_contact=True), at(0, "triage|0"))
    assert doc is not None
    assert doc.fact["time_to_resolve"] == 7200.0 and "events" not in doc.fact
    assert doc.fact["first_contact_resolution"] is True
    reopened = TicketReopened.create(
        source="triage",
        subject="t-1",
        time=T0,
        data=TicketReopenedData(**ONE, reason="reply", reopen_count=1),
    )
    again = applied(doc, reopened, at(1, "triage|0"))
    assert again is not None and again.fact["first_contact_resolution"] is False


def test_the_facts_are_the_same_whatever_order_the_topics_come_in() -> None:
    triaged = TicketTriagedData(
        **ONE,
        type="incident",
        impact="high",
        urgency="high",
        priority="high",
        service_level=None,  # triage's word on the service level stands over intake's
        queue="operations",
        tier=1,
        status="open",
        entitled=True,
    )
    streams: dict[str, list[Event[Any]]] = {
        "intake|0": [created()],
        "triage|0": [
            TicketTriaged.create(source="triage", subject="t-1", time=T0, data=triaged),
            resolved(60),
        ],
        "sla|0": [
            SlaMet.create(
                source="sla", subject="t-1", time=T0, data=SlaTargetData(**ONE, target="resolution")
            )
        ],
    }
    tagged = [(s, n, e) for s, events in streams.items() for n, e in enumerate(events)]
    outcomes = []
    for order in itertools.permutations(tagged):
        if any(  # each stream keeps its own order, as a partition does
            [n for s2, n, _ in order if s2 == s] != sorted(n for s2, n, _ in order if s2 == s)
            for s in streams
        ):
            continue
        doc = FactDocument()
        for stream, offset, event in order:
            doc = applied(doc, event, at(offset, stream)) or doc
        outcomes.append(doc.fact)
    assert len(outcomes) == 12 and all(o == outcomes[0] for o in outcomes)
    assert outcomes[0]["service_level"] is None and outcomes[0]["time_to_resolve"] == 3600.0


HOURS = st.integers(min_value=-96, max_value=96)
MOMENT = st.one_of(st.none(), HOURS.map(lambda h: T0 + timedelta(hours=h)))


@st.composite
def a_fact(draw: st.DrawFn, n: int) -> dict[str, Any]:
    fact: dict[str, Any] = {"ticket_id": f"t-{n}"}
    for name in ("created_at", "first_response_at", "resolved_at", "closed_at"):
        if (moment := draw(MOMENT)) is not None:
            fact[name] = moment
    for name, values in (
        ("channel", ["web", "email"]),
        ("type", ["incident", "request"]),
        ("priority", list(PRIORITY_ORDER)),
        ("organization_id", [None, "acme", "globex"]),
        ("site", [None, "hq"]),
        ("service_level", [None, "gold"]),
        ("assignee", [None, "bo", "al"]),
    ):
        fact[name] = draw(st.sampled_from(values))
    fact["sla"] = draw(st.dictionaries(st.sampled_from(["resolution"]), st.sampled_from(["met"])))
    fact["reopen_count"] = draw(st.integers(0, 1))
    if draw(st.booleans()):
        fact["feedback"] = {"rating": draw(st.integers(1, 5))}
    return derived(fact)


@st.composite
def a_world(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    facts = [draw(a_fact(n)) for n in range(draw(st.integers(0, 12)))]
    tickets = [f["ticket_id"] for f in facts]
    problems = [
        {
            "problem_id": f"PRB-{n}",
            "resolved_at": draw(MOMENT),
            "ticket_ids": draw(st.lists(st.sampled_from(tickets), max_size=4)) if tickets else [],
        }
        for n in range(draw(st.integers(0, 3)))
    ]
    return facts, problems


@settings(max_examples=150, deadline=None)
@given(world=a_world(), first=HOURS, length=st.integers(1, 72))
def test_each_report_reads_every_fact_its_figures_count(
    world: tuple[list[dict[str, Any]], list[dict[str, Any]]], first: int, length: int
) -> None:
    facts, problems = world
    start = T0 + timedelta(hours=first)
    end = start + timedelta(hours=length)
    sites = sorted(
        {(f["organization_id"], f.get("site") or "-") for f in facts if f.get("organization_id")}
    )
    records = {"problems": [p for p in problems if p["resolved_at"]]}
    for name, reads in READS.items():
        everything = Inputs(facts=facts, records=records, sites=sites)
        chosen = [f for f in facts if reads.facts and selects(reads.facts(start, end), f)]
        if reads.incidents:
            wanted = set(incidents_of(records["problems"], start, end))
            chosen += [f for f in facts if f["ticket_id"] in wanted]
        selected = Inputs(facts=chosen, records=records, sites=sites if reads.sites else [])
        expected = build(name, everything, start, end, None)
        assert build(name, selected, start, end, None) == expected, name


@settings(max_examples=150, deadline=None)
@given(world=a_world(), first=HOURS, length=st.integers(1, 72))
def test_the_hour_buckets_list_every_fact_the_reports_spans_take(
    world: tuple[list[dict[str, Any]], list[dict[str, Any]]], first: int, length: int
) -> None:
    facts, _ = world
    start = T0 + timedelta(hours=first, minutes=first % 60)
    end = start + timedelta(hours=length)
    listed = [entries(f) for f in facts]
    bounds = hours_of(key for keys in listed for key in keys)
    for name, reads in READS.items():
        for span in reads.facts(start, end) if reads.facts else []:
            assert served(span), (name, span)
            first_last = bounds.get(span.field, (None, None))
            read = {OPEN} if span.unset else set(span_keys(span, *first_last))
            for fact, keys in zip(facts, listed, strict=True):
                if selects([span], fact):
                    assert keys & read, (name, span, fact)


def test_a_span_reads_the_hours_it_touches_and_no_hour_after_its_end() -> None:
    ten = datetime(2026, 11, 2, 10, tzinfo=UTC)
    hour = Span("created_at", ten, ten + timedelta(hours=1))
    assert span_keys(hour, "2026-11-01T00", "2026-11-09T00") == ["2026-11-02T10|created_at"]
    ragged = Span("created_at", ten + timedelta(minutes=30), ten + timedelta(hours=1, seconds=1))
    assert span_keys(ragged, "2026-11-01T00", "2026-11-09T00") == [
        "2026-11-02T10|created_at",
        "2026-11-02T11|created_at",
    ]
    later = Span("closed_at", since=ten.astimezone(timezone(timedelta(hours=2))))
    assert span_keys(later, "2026-11-01T00", "2026-11-02T12") == [
        "2026-11-02T10|closed_at",
        "2026-11-02T11|closed_at",
        "2026-11-02T12|closed_at",
    ]
    assert span_keys(later, None, None) == []  # no fact was ever closed
    assert entries({"created_at": ten}) == {"2026-11-02T10|created_at", OPEN}
    assert entries({"created_at": ten, "closed_at": ten}) == {
        "2026-11-02T10|created_at",
        "2026-11-02T10|closed_at",
    }
    assert not served(Span("created_at", unset=True))
