"""The backlog figures behind the triage gauges: open work by queue and priority, the age of
each queue's oldest open item, zeros for queues with nothing open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.triage.domain import WorkSummary, backlog
from shared.events.common import Priority, TicketStatus

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
S = TicketStatus


def item(queue: str, priority: Priority, status: TicketStatus, hours_ago: float) -> WorkSummary:
    return WorkSummary(queue, priority, status, NOW - timedelta(hours=hours_ago))


def test_open_work_is_counted_by_queue_and_priority_and_done_work_is_not() -> None:
    items = [
        item("operations", Priority.HIGHEST, S.ASSIGNED, 1),
        item("operations", Priority.HIGHEST, S.PENDING_CUSTOMER, 2),
        item("operations", Priority.LOW, S.REOPENED, 3),
        item("operations", Priority.LOW, S.RESOLVED, 30),
        item("compatibility", Priority.NORMAL, S.CLOSED, 40),
    ]
    found = backlog(items, NOW)
    assert found.open == {("operations", Priority.HIGHEST): 2, ("operations", Priority.LOW): 1}
    assert found.oldest_seconds == {"operations": 3 * 3600}


def test_a_queue_with_nothing_open_reads_zero_for_every_priority() -> None:
    found = backlog([item("operations", Priority.HIGH, S.NEW, 0.5)], NOW, ["operations", "empty"])
    assert found.open[("operations", Priority.HIGH)] == 1
    assert {p: found.open[("empty", p)] for p in Priority} == dict.fromkeys(Priority, 0)
    assert found.oldest_seconds == {"operations": 1800.0, "empty": 0.0}


def test_an_item_dated_after_now_is_not_of_negative_age() -> None:
    found = backlog([item("operations", Priority.HIGH, S.OPEN, -1)], NOW)
    assert found.oldest_seconds == {"operations": 0.0}
