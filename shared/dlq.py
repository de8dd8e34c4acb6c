"""Dead letters: list them, show one, replay them to their original topic once the cause is fixed.

    python -m shared.dlq list   --service triage [--type ticket.created] [--since 2h]
    python -m shared.dlq show   --service triage 0:17
    python -m shared.dlq replay --service triage [--type T] [--since T] [--ref 0:17 ...] [--again]

A consumer puts what it cannot process on `helpdesk.<service>.dlq` with the error, the attempt
count and the original topic in headers (shared/bus.py). A replay publishes the message's bytes
unchanged, with its key, to that original topic, where every consumer of the topic reads it again:
the one that failed applies it (it never recorded the event as processed), the others skip it as
a duplicate (their inbox knows its id). Each dead letter is replayed once: the replay is recorded in
the service's database (`dlq_replays`, keyed by partition and offset), and a later replay passes it
by unless `--again` is given (for a letter whose replay failed again, which the consumer then
dead-letters anew under a new offset anyway). Connection settings are the services' own
(KAFKA_BOOTSTRAP_SERVERS, MONGODB_URI, HELPDESK_TOPIC_PREFIX, HELPDESK_DB_PREFIX).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from .settings import ServiceSettings
from .topics import SERVICES, dlq_of

REPLAYS = "dlq_replays"
"""'<partition>:<offset>' of the dead-letter topic -> when it was replayed, to which topic."""
RELATIVE = re.compile(r"(\d{1,6})([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
IDLE_READS = 10
"""Empty fetches in a row after which reading stops short of an end it cannot reach."""


@dataclass(frozen=True)
class Letter:
    partition: int
    offset: int
    at: datetime
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    event: dict[str, Any] = field(default_factory=dict)
    """The message parsed as JSON ({} when it is not an object)."""

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def type(self) -> str:
        return str(self.event.get("type", "")) if isinstance(self.event, dict) else ""

    @property
    def original_topic(self) -> str:
        return self.headers.get("x-original-topic", "")


def letter_of(record: Any) -> Letter:
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or [])}
    try:
        parsed = json.loads(record.value)
    except ValueError:
        parsed = {}
    return Letter(
        partition=record.partition,
        offset=record.offset,
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=headers,
        event=parsed if isinstance(parsed, dict) else {},
    )


def since_of(text: str, now: datetime) -> datetime:
    """'30m', '2h', '7d' (before now) or an ISO 8601 moment (UTC when it names no offset)."""
    relative = RELATIVE.fullmatch(text.strip())
    if relative:
        return now - timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def read_letters(settings: ServiceSettings, service: str) -> list[Letter]:
    """Every message on the service's dead-letter topic, up to its end when called."""
    topic = dlq_of(service, settings.topic_prefix)
    partitions = await _partitions(settings, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[Letter] = []
        pending = {tp for tp in assigned if ends[tp] > 0}
        idle = 0
        while pending and idle < IDLE_READS:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                letters += [letter_of(r) for r in records if r.offset < ends[tp]]
                if records and records[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return sorted(letters, key=lambda letter: (letter.at, letter.partition, letter.offset))
    finally:
        await consumer.stop()


async def _partitions(settings: ServiceSettings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [t for t in described if t.get("topic") == topic and not t.get("error_code")]
    return sorted(p["partition"] for t in found for p in t.get("partitions", []))


def chosen(
    letters: Sequence[Letter],
    type_: str | None = None,
    since: datetime | None = None,
    refs: Sequence[str] = (),
) -> list[Letter]:
    return [
        letter
        for letter in letters
        if (type_ is None or letter.type == type_)
        and (since is None or letter.at >= since)
        and (not refs or letter.ref in refs)
    ]


async def replay(
    settings: ServiceSettings, service: str, letters: Sequence[Letter], again: bool = False
) -> tuple[list[Letter], list[Letter]]:
    """Publish each letter to its original topic, once; returns (replayed, passed by)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    replays = client[f"{settings.db_prefix}{service}"][REPLAYS]
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    done: list[Letter] = []
    passed: list[Letter] = []
    try:
        for letter in letters:
            if not letter.original_topic or (
                not again and await replays.find_one({"_id": letter.ref}) is not None
            ):
                passed.append(letter)
                continue
            headers = [("content-type", b"application/cloudevents+json")]
            if letter.type:
                headers.append(("ce_type", letter.type.encode()))
            headers.append(("x-replayed-from", f"{dlq_of(service, '')}:{letter.ref}".encode()))
            await producer.send_and_wait(
                letter.original_topic, letter.value, key=letter.key, headers=headers
            )
            record = {"at": datetime.now(UTC), "topic": letter.original_topic}
            try:  # recorded after the publish: a crash between replays it twice, applied once
                await replays.insert_one({"_id": letter.ref, **record})
            except DuplicateKeyError:
                await replays.update_one({"_id": letter.ref}, {"$set": record})
            done.append(letter)
    finally:
        await producer.stop()
        await client.close()
    return done, passed


async def replayed_refs(settings: ServiceSettings, service: str) -> set[str]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        docs = client[f"{settings.db_prefix}{service}"][REPLAYS].find({}, {"_id": 1})
        return {str(d["_id"]) async for d in docs}
    finally:
        await client.close()


def _row(letter: Letter, replayed: bool) -> str:
    error = letter.headers.get("x-error", "").replace("\n", " ")
    return "  ".join(
        [
            f"{letter.ref:<9}",
            letter.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"{letter.type or '(not an event)':<24}",
            f"{str(letter.event.get('id', '-'))[:36]:<36}",
            f"{letter.headers.get('x-error-type', '?')}: {error[:80]}",
            "(replayed)" if replayed else "",
        ]
    ).rstrip()


def _show(letter: Letter, out: TextIO) -> None:
    print(f"ref        {letter.ref}", file=out)
    print(f"at         {letter.at.isoformat()}", file=out)
    print(f"key        {letter.key!r}", file=out)
    for name, value in sorted(letter.headers.items()):
        print(f"{name:<10} {value}", file=out)
    try:
        body = json.dumps(json.loads(letter.value), indent=2, ensure_ascii=False)
    except ValueError:
        body = letter.value.decode("utf-8", "replace")
    print(body, file=out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m shared.dlq", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["list", "show", "replay"])
    p.add_argument("refs", nargs="*", help="partition:offset of letters (show; replay: only these)")
    p.add_argument("--service", required=True, choices=SERVICES, help="whose dead letters")
    p.add_argument("--type", dest="type_", help="only events of this type")
    p.add_argument("--since", help="only letters dead-lettered since: 30m, 2h, 7d or ISO 8601")
    p.add_argument("--again", action="store_true", help="replay letters replayed before too")
    return p.parse_intermixed_args(argv)


async def run(args: argparse.Namespace, settings: ServiceSettings, out: TextIO) -> int:
    since = since_of(args.since, datetime.now(UTC)) if args.since else None
    letters = chosen(await read_letters(settings, args.service), args.type_, since, args.refs)
    if args.action == "show":
        if not args.refs:
            print("show needs the ref of a letter (partition:offset, as list prints)", file=out)
            return 2
        for letter in letters:
            _show(letter, out)
        return 0 if letters else 1
    if args.action == "list":
        replayed = await replayed_refs(settings, args.service)
        for letter in letters:
            print(_row(letter, letter.ref in replayed), file=out)
        print(f"{len(letters)} dead letter(s) of {args.service}", file=out)
        return 0
    done, passed = await replay(settings, args.service, letters, args.again)
    for letter in done:
        print(f"replayed {letter.ref} to {letter.original_topic}", file=out)
    print(f"{len(done)} replayed, {len(passed)} passed by (replayed before, or no topic)", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        since_of(args.since, datetime.now(UTC)) if args.since else None
    except ValueError:
        print(f"--since: not a duration (30m, 2h, 7d) or ISO 8601 time: {args.since!r}")
        return 2
    return asyncio.run(run(args, ServiceSettings(), sys.stdout))


if __name__ == "__main__":
    raise SystemExit(main())
