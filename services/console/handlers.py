"""The live feed: every console process reads every partition of `helpdesk.*.v1` from the end
(no consumer group, so it is given every partition; no committed offsets) and hands each event
to the use case that passes it on to the browsers. Nothing here is a record: a page reads the
services anew, so an event missed while the console was down costs only a live refresh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer

from shared.events import MalformedEvent, UnknownEvent, parse_event
from shared.logging import log_context

from .service import ConsoleDeps, on_event

log = logging.getLogger(__name__)


class LiveFeed:
    def __init__(self, bootstrap: str, topics: Sequence[str], deps: ConsoleDeps) -> None:
        self._topics = list(topics)
        self._deps = deps
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,  # no group: this process is given every partition of the topics
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        self.handled = 0

    async def start(self, within: float = 30.0) -> None:
        """Take every partition of the topics and fix the position at their current end
        before the console serves, so an event produced after start-up is never skipped."""
        self._consumer.subscribe(self._topics)
        await self._consumer.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self._consumer.assignment():
            if loop.time() > deadline:
                await self._consumer.stop()
                raise RuntimeError(f"no partitions of {self._topics} after {within}s")
            await asyncio.sleep(0.05)
        partitions = list(self._consumer.assignment())
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)

    async def run(self) -> None:
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
                for records in batches.values():
                    for record in records:
                        await self._handle(record.value)
        finally:
            await self._consumer.stop()

    async def _handle(self, value: bytes | None) -> None:
        try:
            event = parse_event(value or b"")
        except MalformedEvent:
            return  # the producer's consumers dead-letter it; a browser has nothing to show
        if isinstance(event, UnknownEvent):
            return
        with log_context(event.subject, event.correlationid):
            try:
                await on_event(event, self._deps)
            except Exception:  # one event's trouble never stops the feed for everyone
                log.exception("live event %s (%s) not passed on", event.id, event.type)
        self.handled += 1
