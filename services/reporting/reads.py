"""What each report is made from, for a period (pure): the facts selected by spans of their
times (a report never reads every ticket's facts), the kinds of problem-management records, the
facts of the incidents of the problems it covers, the sites tickets came from.

A selection may take more facts than a report counts (the report decides); it must not take
fewer. Reports stay unchanged when a selection is narrowed, and a unit test checks each report
against its selection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Span:
    """The facts whose `field` lies in [since, until) (an end left open is None); with `unset`,
    the facts without that field (tickets never closed, say)."""

    field: str
    since: datetime | None = None
    until: datetime | None = None
    unset: bool = False


Spans = Callable[[datetime, datetime], list[Span]]


def opened(start: datetime, end: datetime) -> list[Span]:
    return [Span("created_at", start, end)]


def resolved(start: datetime, end: datetime) -> list[Span]:
    return [Span("resolved_at", start, end)]


def open_during(start: datetime, end: datetime) -> list[Span]:
    """Opened in the period, closed in it or later, or never closed: what was opened, closed,
    or open at the end."""
    return [
        Span("created_at", start, end),
        Span("closed_at", since=start),
        Span("closed_at", unset=True),
    ]


def open_at_end(start: datetime, end: datetime) -> list[Span]:
    return [Span("closed_at", since=end), Span("closed_at", unset=True)]


@dataclass(frozen=True)
class Reads:
    facts: Spans | None = None
    records: tuple[str, ...] = ()
    incidents: bool = False
    """The facts of the incidents of the problems resolved in the period."""
    sites: bool = False
    """Every (organisation, site) a ticket came from."""


READS: dict[str, Reads] = {
    "trouble-calls": Reads(facts=open_during),
    "sla-compliance": Reads(facts=opened),
    "resolution": Reads(facts=resolved),
    "agents": Reads(facts=resolved),
    "service-levels": Reads(facts=opened),
    "deficiency-reports": Reads(records=("deficiency_reports",)),
    "advisories": Reads(records=("advisories",)),
    "releases": Reads(records=("releases",)),
    "lessons-learned": Reads(records=("problems",)),
    "problem-fixes": Reads(records=("problems",), incidents=True),
    "site-status": Reads(facts=open_at_end, records=("advisories",), sites=True),
}


def selects(spans: Sequence[Span], fact: dict[str, Any]) -> bool:
    """Whether the spans take the fact (the store reads at least these, then keeps only them)."""
    return any(_within(span, fact.get(span.field)) for span in spans)


def _within(span: Span, moment: datetime | None) -> bool:
    if span.unset or moment is None:
        return span.unset and moment is None
    return (span.since is None or moment >= span.since) and (
        span.until is None or moment < span.until
    )


def incidents_of(problems: Iterable[dict[str, Any]], start: datetime, end: datetime) -> list[str]:
    """The tickets of the problems resolved in the period (what problem-fixes compares)."""
    tickets = {
        ticket
        for problem in problems
        if problem.get("resolved_at") and start <= problem["resolved_at"] < end
        for ticket in problem.get("ticket_ids", [])
    }
    return sorted(tickets)
