"""Growth benchmark: API latency with 1,000 and with 100,000 tickets stored.

Run from the repository root (Kafka and FerretDB, or MongoDB, already up on loopback):

    .venv/bin/python tests/bench/bench_growth.py --sizes 1000,100000 --open 200 --requests 200

It starts the five services as processes (shared.devstack.Stack) with a fresh topic and database
prefix, then grows the stored history in steps: tickets are written straight into each service's
database through that service's own store classes (intake's tickets with their numbers and
lists, triage's work items with their open-work rows, sla's clocks, reporting's facts), as the
consumers would have left them, which is much faster than pushing each ticket through Kafka. Of
the tickets, `--open` stay open in every step (an open backlog is bounded by the team, not by
history): the rest are closed. After each step it times `--requests` sequential calls of each
read the issue names and prints p50/p95/p99; it asserts nothing. At the end it drops its
databases and topics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from services.intake.domain import OpenTicketRequest, new_ticket, numbered  # noqa: E402
from services.intake.store import MongoIntakeStore  # noqa: E402
from services.triage.store import MongoTriageStore, WorkItem  # noqa: E402
from shared.auth import issue_token  # noqa: E402
from shared.devstack import Stack  # noqa: E402
from shared.events.common import (  # noqa: E402
    Level,
    Person,
    Priority,
    TicketStatus,
    TicketType,
)
from shared.settings import ServiceSettings  # noqa: E402
from shared.topics import SERVICES  # noqa: E402
from tests.bench.bench_flow import (  # noqa: E402
    clean_up,
    free_ports,
    is_loopback,
    kafka_hosts,
    machine_facts,
    mongo_hosts,
    pct,
    table,
)
from tests.bench.growth_seed import seed_reporting, seed_sla  # noqa: E402

ORGS = [f"org-{n:02d}" for n in range(20)]
QUEUES = ["operations", "compatibility", "general-questions"]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def ticket_at(n: int) -> datetime:
    return T0 + timedelta(seconds=20 * n)


class Seeder:
    """Writes ticket n into every service's database as its consumer would have."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], db_prefix: str) -> None:
        self.intake = MongoIntakeStore(client[f"{db_prefix}intake"])
        self.triage = MongoTriageStore(client[f"{db_prefix}triage"])
        self.sla_db = client[f"{db_prefix}sla"]
        self.reporting_db = client[f"{db_prefix}reporting"]
        self.ids: dict[int, str] = {}

    async def one(self, n: int, open_: bool) -> None:
        at = ticket_at(n)
        org = ORGS[n % len(ORGS)]
        request = OpenTicketRequest(
            subject=f"Replication lag on site {n % 7}",
            description="The standby database lags the primary by minutes since the upgrade.",
        )
        person = Person(email=f"user{n % 500}@{org}.example")
        draft = new_ticket(request, person, None, org, at)
        ticket = numbered(draft, await self.intake.next_seq())
        await self.intake.insert_ticket(ticket, [])
        status = TicketStatus.ASSIGNED if open_ else TicketStatus.CLOSED
        await self.intake.record_status(ticket.id, status.value, at)
        await self.triage.insert_item(work_item(ticket.id, ticket.number, org, at, status), [])
        await seed_sla(self.sla_db, ticket.id, at, open_)
        await seed_reporting(self.reporting_db, ticket.id, org, at, open_)
        self.ids[n] = ticket.id


def work_item(ticket_id: str, number: str, org: str, at: datetime, status: TicketStatus) -> Any:
    return WorkItem(
        ticket_id=ticket_id,
        number=number,
        subject="Replication lag",
        organization_id=org,
        service_level=None,
        entitled=True,
        type=TicketType.INCIDENT,
        impact=Level.MEDIUM,
        urgency=Level.HIGH,
        priority=Priority.HIGH,
        priority_rank=1,
        queue=QUEUES[hash(ticket_id) % len(QUEUES)],
        tier=1,
        status=status,
        assignee="tom.first" if status is not TicketStatus.CLOSED else None,
        created_at=at,
        explanation=["seeded by bench_growth"],
        history=[],
        closed_at=at + timedelta(hours=4) if status is TicketStatus.CLOSED else None,
    )


async def grow(seeder: Seeder, start: int, stop: int, open_: set[int], concurrency: int) -> float:
    """Seed tickets start..stop-1; returns the seconds it took."""
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()

    async def one(n: int) -> None:
        async with gate:
            await seeder.one(n, n in open_)

    for first in range(start, stop, 1000):
        await asyncio.gather(*(one(n) for n in range(first, min(stop, first + 1000))))
        print(f"  seeded {min(stop, first + 1000):,} tickets", flush=True)
    return time.monotonic() - began


async def timed(call: Callable[[], Awaitable[httpx.Response]], requests: int) -> list[float]:
    seconds = []
    for _ in range(requests):
        began = time.perf_counter()
        response = await call()
        seconds.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url} answered {response.status_code}")
    return seconds


async def measure(
    urls: dict[str, str], token: str, seeder: Seeder, requests: int, rng: random.Random
) -> list[list[str]]:
    headers = {"Authorization": f"Bearer {token}"}
    ids = list(seeder.ids.values())
    # The last whole hour seeded: it holds the same tickets at every size (180 opened, about 280
    # closed since its start, the open ones), so its report measures the history, not the window.
    last = ticket_at(len(ids) - 1).replace(minute=0, second=0)
    hour = {"from": (last - timedelta(hours=1)).isoformat(), "to": last.isoformat()}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        reads: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
            "GET /v1/tickets?organization_id=&status=assigned": lambda: http.get(
                f"{urls['intake']}/v1/tickets",
                params={"organization_id": rng.choice(ORGS), "status": "assigned"},
            ),
            "GET /v1/tickets?organization_id= (newest 50)": lambda: http.get(
                f"{urls['intake']}/v1/tickets", params={"organization_id": rng.choice(ORGS)}
            ),
            "GET /v1/queues/{key}/work-items": lambda: http.get(
                f"{urls['triage']}/v1/queues/{rng.choice(QUEUES)}/work-items"
            ),
            "GET /v1/work-items/{id}": lambda: http.get(
                f"{urls['triage']}/v1/work-items/{rng.choice(ids)}"
            ),
            "GET /v1/sla/clocks/{id}": lambda: http.get(
                f"{urls['sla']}/v1/sla/clocks/{rng.choice(ids)}"
            ),
            "GET /v1/reports/trouble-calls (the last whole hour)": lambda: http.get(
                f"{urls['reporting']}/v1/reports/trouble-calls", params=hour
            ),
        }
        rows = []
        for name, call in reads.items():
            await call()  # warm up: connection, caches
            seconds = await timed(call, requests)
            rows.append([name, *(f"{1000 * (pct(seconds, p) or 0):.1f}" for p in (50, 95, 99))])
    return rows


async def run(args: argparse.Namespace, stack: Stack, token: str, db_prefix: str) -> None:
    settings = ServiceSettings()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    rng = random.Random(args.seed)
    seeder = Seeder(client, db_prefix)
    urls = {s: stack.url(s) for s in SERVICES}
    sizes = sorted(int(s) for s in args.sizes.split(","))
    open_ = set(range(args.open))  # the first tickets stay open; every step adds closed ones
    stored = 0
    try:
        for size in sizes:
            print(f"\ngrowing to {size:,} tickets ({args.open} open) ...", flush=True)
            took = await grow(seeder, stored, size, open_, args.seed_concurrency)
            print(f"  {size - stored:,} tickets in {took:.0f} s", flush=True)
            stored = size
            rows = await measure(urls, token, seeder, args.requests, rng)
            print(f"\n=== {size:,} tickets stored, {args.open} open ===")
            print(table(["read", "p50 ms", "p95 ms", "p99 ms"], rows), flush=True)
    finally:
        await client.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,100000", help="tickets stored at each step")
    p.add_argument("--open", type=int, default=200, help="tickets open at every step")
    p.add_argument("--requests", type=int, default=200, help="timed calls per read and step")
    p.add_argument("--seed-concurrency", type=int, default=16, help="tickets seeded at once")
    p.add_argument("--seed", type=int, default=1, help="random choice of ids and organisations")
    p.add_argument("--ready-timeout", type=float, default=120.0, help="services ready, seconds")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    settings = ServiceSettings()
    kafka, mongo_uri = settings.kafka_bootstrap_servers, settings.mongodb_uri
    for host in kafka_hosts(kafka) + mongo_hosts(mongo_uri):
        if not is_loopback(host):
            print(f"refusing to run against a non-loopback host: {host!r}", file=sys.stderr)
            return 2
    run_id = secrets.token_hex(4)
    topic_prefix, db_prefix = f"bench{run_id}.", f"bench{run_id}_"
    secret = secrets.token_urlsafe(48)
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    log_dir = Path(tempfile.mkdtemp(prefix=f"switchboard-growth-{run_id}-")) / "logs"
    print("=== Machine ===")
    print(table(["fact", "value"], machine_facts()))
    print("\n=== Parameters ===")
    params = [(k.replace("_", "-"), str(v)) for k, v in vars(args).items()]
    params += [("kafka", kafka), ("mongodb", mongo_uri), ("db prefix", db_prefix)]
    print(table(["parameter", "value"], params), flush=True)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URI": mongo_uri,
        "HELPDESK_TOPIC_PREFIX": topic_prefix,
        "HELPDESK_DB_PREFIX": db_prefix,
        "HELPDESK_JWT_SECRET": secret,
        "HELPDESK_SMTP_LISTEN_PORT": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    stack = Stack(env, ports=ports, log_dir=log_dir)
    token = issue_token(secret, sub="bench", roles=["supervisor"])
    try:
        stack.start_all()
        stack.wait_ready(timeout=args.ready_timeout)
        asyncio.run(run(args, stack, token, db_prefix))
    finally:
        stack.stop_all()
        done, _ = clean_up(kafka, mongo_uri, f"bench{run_id}")
        print(f"\ncleanup: {'; '.join(done)}; logs in {log_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
