"""SLA timer benchmark: how late breaches are announced while many clocks are open.

Run from the repository root (Kafka and FerretDB up on loopback):

    .venv/bin/python tests/bench/bench_sla_timers.py --open 100000 --due 100 --window 20

It runs the sla service in this process (its real scheduler, store and relay) against a fresh
database and topic prefix, writes `--open` clocks whose targets fall due days later (the load;
their timers are written in batches, as the timer store lays them out) and `--due` clocks whose
first response falls due at random moments within the next `--window` seconds (through the
timer store), then reads sla.breached from Kafka and prints the delay between each due time and
its announcement (p50/p95/p99/max), breaches missing or doubled, and the CPU time used during
the window by this process and by the local FerretDB (its pid from .local/run/ferretdb.pid,
when there). It prints figures and never asserts; it drops its database and topics at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import random
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from services.sla.app import SlaSettings, create_app  # noqa: E402
from services.sla.domain import Policy, always_on, start  # noqa: E402
from services.sla.store import (  # noqa: E402
    CLOCKS,
    TIMERS,
    WATCHED,
    MongoTimerStore,
    second_of,
)
from shared.events import parse_event  # noqa: E402
from shared.events.common import Priority, ServiceLevel  # noqa: E402

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
MONGO = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")


def policy(first_response: int) -> Policy:
    return Policy(
        id="platinum/highest",
        service_level=ServiceLevel.PLATINUM,
        priority=Priority.HIGHEST,
        target_seconds={"first_response": first_response, "next_update": 3600, "resolution": 10**6},
        calendar_id="24x7",
        warn_at=(),
    )


async def write_clocks(
    db: object, timers: MongoTimerStore, items: list[tuple[str, float]], bulk: bool = False
) -> None:
    """Clocks straight into the store (as sla would write them: the clock, and its entry in the
    watched set, for its targets run) with their timers: through the timer store one by one,
    or (`bulk`, for the load) the same documents in batches."""
    now = datetime.now(UTC)
    clocks: list[dict[str, object]] = []
    due: list[tuple[str, datetime]] = []
    for ticket_id, seconds in items:
        # a whole-second target started a moment ago, so it falls due exactly `seconds` from
        # now: due times spread over the second (not all at the fraction of `now`)
        target = math.ceil(seconds)
        begun = now - timedelta(seconds=target - seconds)
        clock = start(ticket_id, ticket_id, policy(target), always_on(), begun)
        clocks.append(
            {"_id": ticket_id, **clock.model_dump(mode="python"), "revision": 0, "outbox": []}
        )
        assert clock.next_check_at is not None
        due.append((ticket_id, clock.next_check_at))
    watched = [{"_id": ticket_id, "revision": 0} for ticket_id, _ in items]
    for name, docs in ((CLOCKS, clocks), (WATCHED, watched)):
        for i in range(0, len(docs), 1000):
            await db[name].insert_many(docs[i : i + 1000])  # type: ignore[index]
    if bulk:
        await write_timers(db, due)
        return
    for i in range(0, len(due), 64):
        await asyncio.gather(*(timers.add_timer(t, at) for t, at in due[i : i + 64]))


async def write_timers(db: object, due: list[tuple[str, datetime]]) -> None:
    """The timer store's documents for these timers: one bucket per second, holding the
    tickets due in it (services/sla/store/timers.py, MongoTimerStore)."""
    buckets: dict[str, list[str]] = {}
    for ticket_id, at in due:
        buckets.setdefault(second_of(at), []).append(ticket_id)
    docs = [{"_id": second, "tickets": tickets} for second, tickets in buckets.items()]
    for i in range(0, len(docs), 1000):
        await db[TIMERS].insert_many(docs[i : i + 1000])  # type: ignore[index]


async def main(args: argparse.Namespace) -> None:
    tag = f"bench{uuid.uuid4().hex[:8]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "MONGODB_URI": MONGO,
        "HELPDESK_TOPIC_PREFIX": f"{tag}.",
        "HELPDESK_DB_PREFIX": f"{tag}_",
        "HELPDESK_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
        "HELPDESK_SLA_TICK_SECONDS": str(args.tick),
    }
    os.environ.update(env)
    print(f"machine: {os.cpu_count()} cores, {platform.python_version()}, {platform.platform()}")
    print(f"parameters: open={args.open} due={args.due} window={args.window}s tick={args.tick}s")
    app = create_app(SlaSettings())
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO, tz_aware=True)
    db = mongo[f"{tag}_sla"]
    async with app.router.lifespan_context(app):
        timers = MongoTimerStore(db)
        began = time.monotonic()
        load: list[tuple[str, float]] = [(f"open-{n}", 5 * 86400 + n) for n in range(args.open)]
        await write_clocks(db, timers, load, bulk=True)
        print(f"wrote {args.open} open clocks in {time.monotonic() - began:.1f} s")
        lead = 10
        due = [(f"due-{n}", lead + random.uniform(0, args.window)) for n in range(args.due)]
        await write_clocks(db, timers, due)
        cpu0, db0 = own_cpu(), ferretdb_cpu()
        await asyncio.sleep(lead + args.window + 5)
        cpu1, db1 = own_cpu(), ferretdb_cpu()
        delays = await breach_delays(f"{tag}.helpdesk.sla.v1", db)
    await mongo.drop_database(f"{tag}_sla")
    await mongo.close()
    await drop_topics(tag)
    db_cpu = db1 - db0 if db0 is not None and db1 is not None else None
    report(delays, args, cpu1 - cpu0, db_cpu, lead + args.window + 5)


def own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def ferretdb_cpu() -> float | None:
    """CPU seconds of the local FerretDB so far, from /proc; None when it is not ours."""
    try:
        pid = (ROOT / ".local" / "run" / "ferretdb.pid").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def breach_delays(topic: str, db: object) -> dict[str, list[float]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: dict[str, list[float]] = {}
    try:
        batch = await consumer.getmany(timeout_ms=3000)
        while batch:
            for records in batch.values():
                for record in records:
                    event = parse_event(record.value)
                    if event.type == "sla.breached" and event.data.due_at is not None:
                        late = (event.time - event.data.due_at).total_seconds()
                        found.setdefault(event.subject, []).append(late)
            batch = await consumer.getmany(timeout_ms=2000)
    finally:
        await consumer.stop()
    return found


async def drop_topics(tag: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{tag}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def report(
    delays: dict[str, list[float]],
    args: argparse.Namespace,
    cpu: float,
    db_cpu: float | None,
    seconds: float,
) -> None:
    firsts = sorted(v[0] for k, v in delays.items() if k.startswith("due-"))
    doubled = sum(len(v) > 1 for v in delays.values())
    early = sum(k.startswith("open-") for k in delays)

    def pct(p: float) -> str:
        return f"{firsts[min(len(firsts) - 1, int(p * len(firsts)))]:.3f}" if firsts else "-"

    print(f"breaches announced: {len(firsts)} of {args.due}; doubled: {doubled}; of open: {early}")
    print(
        f"delay from due time to sla.breached (s): p50 {pct(0.5)} p95 {pct(0.95)} "
        f"p99 {pct(0.99)} max {firsts[-1] if firsts else '-'}"
    )
    print(
        f"CPU during the {seconds:.0f} s window: this process (sla service + bench) {cpu:.1f} s "
        f"({100 * cpu / seconds:.0f}% of a core)"
    )
    if db_cpu is not None:
        print(f"  FerretDB {db_cpu:.1f} s ({100 * db_cpu / seconds:.0f}% of a core)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--tick", type=float, default=0.5)
    asyncio.run(main(parser.parse_args()))
