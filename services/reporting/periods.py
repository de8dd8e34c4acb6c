"""Where a fact is found by its times (pure): the `_id`-keyed access path the reports' period
reads use, so that a report of a recent period reads that period, not the whole history.

A fact is listed in one hour bucket per indexed time it has (`"<yyyy-mm-ddTHH>|<field>"`, the
hour in UTC) and, while it has no `closed_at`, in the live set of facts never closed (OPEN).
A span of reads.py is answered by the buckets of the hours it covers, or by the live set for
`Span("closed_at", unset=True)`. Buckets hold an hour rather than a day so that one bucket stays
small at a busy helpdesk's rate (FerretDB rewrites the whole bucket on each write: measured
about 90 ms at 4,000 ids, a day of a busy desk, and 2.5 ms at 200).

Entries may point at more facts than a span takes (an hour partly in the span, or an id left
dangling by a writer that crashed or lost its compare-and-set): readers filter with
reads.selects. They never point at fewer: an entry is written before the fact that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .reads import Span

INDEXED = ("created_at", "resolved_at", "closed_at")
"""The times reports select facts by (every field a span of reads.READS names)."""
OPEN = "open"
"""The entry of a fact without `closed_at`: it lives in the live set, not in a bucket."""
NEVER_UNSET = "closed_at"
"""The only field a span may ask to be unset; facts.py never removes it once set."""
HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def bucket_key(hour: str, field: str) -> str:
    return f"{hour}|{field}"


def entries(fact: dict[str, Any] | None) -> frozenset[str]:
    """The bucket keys of a fact, and OPEN while it was never closed."""
    if fact is None:
        return frozenset()
    keys = {bucket_key(hour_of(fact[f]), f) for f in INDEXED if fact.get(f) is not None}
    if fact.get(NEVER_UNSET) is None:
        keys.add(OPEN)
    return frozenset(keys)


def field_of(key: str) -> str:
    return key.rsplit("|", 1)[1]


def hours_of(keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Field -> (first, last) hour among bucket keys (OPEN left out)."""
    bounds: dict[str, tuple[str, str]] = {}
    for key in keys:
        if key == OPEN:
            continue
        hour, field = key.rsplit("|", 1)
        first, last = bounds.get(field, (hour, hour))
        bounds[field] = (min(first, hour), max(last, hour))
    return bounds


def span_keys(span: Span, first: str | None, last: str | None) -> list[str]:
    """The bucket keys that hold every fact the span takes, given the first and last hour any
    fact has in the span's field (None: no fact has it). An end left open is read up to that
    last hour: the times are the services' clocks, so that is about now, and the read is
    proportional to the hours between the span's start and now (fine for recent periods)."""
    if span.field not in INDEXED or span.unset:
        raise ValueError(f"no hour buckets for {span}")
    if first is None or last is None:
        return []
    since = hour_of(span.since) if span.since is not None else first
    until = _last_hour(span.until) if span.until is not None else last
    return [bucket_key(h, span.field) for h in _hours(max(since, first), min(until, last))]


def _last_hour(until: datetime) -> str:
    """The hour of the last moment before `until` (excluded)."""
    return hour_of(until - timedelta(microseconds=1))


def _hours(first: str, last: str) -> Iterator[str]:
    moment = datetime.strptime(first, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    end = datetime.strptime(last, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    while moment <= end:
        yield hour_of(moment)
        moment += HOUR


def served(span: Span) -> bool:
    """Whether the access path answers the span: a bounded or open-ended time, or never
    closed."""
    if span.unset:
        return span.field == NEVER_UNSET
    return span.field in INDEXED
