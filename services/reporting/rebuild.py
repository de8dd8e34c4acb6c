"""Rebuild every read model from offset 0 of the helpdesk topics into a fresh database:

    .venv/bin/python -m services.reporting.rebuild --database reporting_rebuilt

(Kafka, MongoDB and the topic prefix come from the usual settings.) It reads each partition of
helpdesk.{intake,triage,sla,problems}.v1 from the start up to the end it finds when it starts,
applying every event as the live consumer does (service.apply), which also lists each fact in
its access path by period (facts_by_hour, facts_open), then prints what it read. An event that
cannot be parsed is skipped here: the live consumer dead-lettered it. Point the service at the
new database (HELPDESK_DB_PREFIX) to switch over.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.bus import Delivery
from shared.clock import SystemClock
from shared.db import make_client
from shared.events import MalformedEvent, parse_event
from shared.topics import topic_of

from .app import ReportingSettings
from .handlers import SOURCES
from .service import ReportingDeps, apply
from .store import MongoFactStore, MongoRecordStore, MongoReportingStore


@dataclass
class Rebuilt:
    records: int = 0
    skipped: int = 0


async def rebuild(settings: ReportingSettings, database: str) -> Rebuilt:
    client = make_client(settings)
    db = client[database]
    facts = MongoFactStore(db)
    await facts.start()  # marks the fresh database as indexed; events then index each fact
    deps = ReportingDeps(
        store=MongoReportingStore(db),
        facts=facts,
        records=MongoRecordStore(db),
        clock=SystemClock(),
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    done = Rebuilt()
    try:
        partitions = await _partitions(settings)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp] or record.value is None:
                        continue
                    try:
                        event = parse_event(record.value)
                    except MalformedEvent:
                        done.skipped += 1
                        continue
                    await apply(event, Delivery(tp.topic, tp.partition, record.offset), deps)
                    done.records += 1
    finally:
        await consumer.stop()
        await client.close()
    return done


async def _partitions(settings: ReportingSettings) -> list[TopicPartition]:
    """Every partition of the topics reporting reads (those that exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        wanted = {topic_of(p, settings.topic_prefix) for p in SOURCES}
        topics = sorted(wanted & set(await admin.list_topics()))
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="the fresh database to build into")
    args = parser.parse_args()
    done = asyncio.run(rebuild(ReportingSettings(), args.database))
    print(f"rebuilt {args.database}: {done.records} events applied, {done.skipped} skipped")


if __name__ == "__main__":
    main()
