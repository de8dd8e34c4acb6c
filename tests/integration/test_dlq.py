"""Dead-letter replay on the real broker and FerretDB: a message a consumer could not process is
listed, replayed to its original topic once the cause is fixed, applied once, and passed by when
replayed again."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest

from shared import dlq
from shared.bus import Delivery
from shared.events import Event
from shared.settings import ServiceSettings
from tests.helpers import Isolation, produce, wait_for
from tests.integration.test_bus import Harness, ticket_created

pytestmark = pytest.mark.integration


class Triage(Harness):
    """The bus tests' consumer of `triage`, whose handler fails until the cause is fixed."""

    def __init__(self, iso: Isolation) -> None:
        super().__init__(iso, failures=0)
        self.fixed = False
        self.applied: list[str] = []

    async def handle(self, event: Event[Any], delivery: Delivery) -> None:
        if not self.fixed:
            raise ValueError("queue 'operations' is not configured")
        self.applied.append(event.id)


async def cli(settings: ServiceSettings, *argv: str) -> str:
    out = io.StringIO()
    args: argparse.Namespace = dlq.parse_args(list(argv))
    assert await dlq.run(args, settings, out) == 0
    return out.getvalue()


async def test_a_dead_letter_is_replayed_once_to_its_topic_and_applied_once(
    isolated: Isolation,
) -> None:
    bad, later = ticket_created("t-1"), ticket_created("t-2")
    async with Triage(isolated) as triage:
        settings = triage.settings
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-1", bad.to_json())

        async def dead_lettered() -> list[dlq.Letter] | None:
            return await dlq.read_letters(settings, "triage") or None

        (letter,) = await wait_for(dead_lettered, what="the event dead-lettered")
        assert letter.type == "ticket.created" and letter.event["id"] == bad.id
        assert letter.original_topic == isolated.topic("intake")
        listed = await cli(settings, "list", "--service", "triage", "--type", "ticket.created")
        assert letter.ref in listed and "ValueError" in listed and "(replayed)" not in listed
        assert "0 dead letter" in await cli(settings, "list", "--service", "triage", "--type", "x")
        shown = await cli(settings, "show", "--service", "triage", letter.ref)
        assert bad.id in shown and "queue 'operations' is not configured" in shown

        triage.fixed = True  # the cause is fixed; the consumer went on meanwhile
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-2", later.to_json())
        await wait_for(lambda: _true(later.id in triage.applied), what="the next event")
        replayed = await cli(settings, "replay", "--service", "triage", "--since", "1h")
        assert f"replayed {letter.ref}" in replayed and "1 replayed" in replayed
        await wait_for(lambda: _true(bad.id in triage.applied), what="the replayed event")

        again = await cli(settings, "replay", "--service", "triage")
        assert "0 replayed, 1 passed by" in again
        assert "(replayed)" in await cli(settings, "list", "--service", "triage")
        forced = await cli(settings, "replay", "--service", "triage", "--again", letter.ref)
        assert "1 replayed" in forced  # on the topic again: the consumer's inbox skips it
        marker = ticket_created("t-3")
        await produce(isolated.infra.kafka, isolated.topic("intake"), "t-3", marker.to_json())
        await wait_for(lambda: _true(marker.id in triage.applied), what="an event after it")
    assert triage.applied.count(bad.id) == 1
    assert triage.consumer.dead_letter_streak == 0


async def _true(value: bool) -> bool:
    return value
