"""Triage's backlog gauges on real Kafka and FerretDB: open tickets by queue and priority and
the age of each queue's oldest open item, as an operator's Prometheus scrapes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.triage.app import TriageSettings, create_app
from shared.clock import FixedClock
from tests.helpers import Isolation, auth, in_process, wait_for
from tests.integration.test_triage_work import START, created, item_when, send

pytestmark = pytest.mark.integration
Samples = dict[tuple[str, ...], float]


@pytest.fixture
async def measured(
    isolated: Isolation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, FixedClock]]:
    clock = FixedClock(START)
    env = isolated.env(HELPDESK_TRIAGE_GAUGE_SECONDS="0.2", HELPDESK_CONFIG_TTL_SECONDS="0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with in_process(create_app(TriageSettings(), clock)) as client:
        yield client, clock


async def scraped(triage: httpx.AsyncClient) -> dict[str, Samples]:
    text = (await triage.get("/metrics")).text
    found: dict[str, Samples] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sample.labels[k] for k in sorted(sample.labels))  # priority, queue
            found.setdefault(sample.name, {})[key] = sample.value
    return found


async def test_the_gauges_count_open_work_by_queue_and_priority_and_age_the_oldest(
    measured: tuple[httpx.AsyncClient, FixedClock], isolated: Isolation
) -> None:
    triage, clock = measured
    subjects = ["Server is down, nobody can log in, urgent", "Is version 7 compatible?"]
    await send(isolated, "intake", [created(n, subjects[n % 2]) for n in range(1, 5)])
    items = [await item_when(triage, f"t-{n}", lambda i: True, f"ticket {n}") for n in range(1, 5)]
    done = await triage.post(
        "/v1/work-items/t-4/resolve", json={"resolution": "Yes"}, headers=auth()
    )
    assert done.status_code == 200
    clock.advance(timedelta(hours=2))

    expected: Samples = {}
    oldest: dict[str, datetime] = {}
    for item in items[:3]:  # t-4 is resolved
        key = (item["priority"], item["queue"])
        expected[key] = expected.get(key, 0) + 1
        created_at = datetime.fromisoformat(item["created_at"])
        oldest[item["queue"]] = min(oldest.get(item["queue"], created_at), created_at)
    ages = {(q,): (clock.now() - at).total_seconds() for q, at in oldest.items()}

    async def measured_now() -> dict[str, Samples] | None:
        found = await scraped(triage)
        open_now = {k: v for k, v in found.get("helpdesk_triage_open_tickets", {}).items() if v}
        aged = found.get("helpdesk_triage_backlog_age_seconds", {})
        return (
            found
            if open_now == expected and all(aged.get(q) == a for q, a in ages.items())
            else None
        )

    found = await wait_for(measured_now, within=30, what=f"open {expected} aged {ages}")
    # a configured queue with nothing open reads 0 rather than disappearing from the graphs
    assert found["helpdesk_triage_open_tickets"][("normal", "general-questions")] == 0
    assert found["helpdesk_triage_backlog_age_seconds"][("general-questions",)] == 0
