"""Flow benchmark: intake throughput, end-to-end latency, consumer lag and peak memory.

Run from the repository root (Kafka and FerretDB must already be up on loopback):

    .venv/bin/python tests/bench/bench_flow.py --rate 10 --duration 20 --burst 100

(those are the defaults, as is --concurrency 10; --help lists every option). It starts the five
services as processes (shared.devstack.Stack) on free loopback ports, with a fresh random topic
prefix and database prefix and a generated JWT secret, so it never sees other data; it prints
figures, never asserts. At the end it stops the services, drops its databases and deletes its
topics (and, best effort, its consumer groups).

Phase 1 (throughput): `--burst` tickets posted by `--concurrency` concurrent clients, closed loop.
Phase 2 (latency): tickets posted open loop at `--rate` per second for `--duration` seconds; a
plain Kafka consumer on the triage and sla topics timestamps each ticket's ticket.triaged and
sla.clock_started, and reporting's GET /v1/summary is polled to time when each ticket is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import platform
import re
import resource
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from shared.auth import issue_token  # noqa: E402
from shared.devstack import Stack  # noqa: E402
from shared.events import MalformedEvent, parse_event  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402
from shared.smtp_sink import MailSink  # noqa: E402
from shared.smtp_sink import start as start_sink  # noqa: E402
from shared.topics import SERVICES, topic_of  # noqa: E402

TRIAGED = "ticket.triaged"
CLOCK_STARTED = "sla.clock_started"
LAG_RE = re.compile(r"^helpdesk_consumer_lag\{([^}]*)\}\s+(\S+)", re.M)
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", re.M)


# ---------------------------------------------------------------- small helpers


class _CountingHandler(logging.Handler):
    """Counts the bench's own aiokafka errors instead of printing each one (a broker restart
    would otherwise flood the figures); the count is printed as a note."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.getMessage()[:120]] += 1


KAFKA_LOG = _CountingHandler()


def pct(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (no interpolation); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                c.rjust(w) if i and _numeric(c) else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in body)])


def _numeric(cell: str) -> bool:
    return bool(re.fullmatch(r"[-\d./ ]+", cell))


def latency_row(name: str, values: Sequence[float], expected: int | None = None) -> list[str]:
    n = f"{len(values)}" if expected is None else f"{len(values)}/{expected}"
    return [
        name,
        n,
        ms(pct(values, 50)),
        ms(pct(values, 95)),
        ms(pct(values, 99)),
        ms(max(values) if values else None),
    ]


LAT_HEADERS = ["measure", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kafka_hosts(bootstrap: str) -> list[str]:
    return [urlsplit("//" + part.strip()).hostname or "" for part in bootstrap.split(",")]


def mongo_hosts(uri: str) -> list[str]:
    netloc = uri.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return [urlsplit("//" + part).hostname or "" for part in netloc.split(",")]


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def machine_facts() -> list[tuple[str, str]]:
    mem = "?"
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("cores (logical / usable)", f"{os.cpu_count()} / {usable}"),
        ("memory total", mem),
        ("CPU model", model),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("OS", platform.platform()),
        ("load average at start (1/5/15 min)", load),
    ]


def proc_status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def proc_cpu_seconds(pid: int) -> str:
    """User + system CPU seconds the process has used, from /proc/<pid>/stat."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return f"{(int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'):.1f}"
    return "-"


def kib_to_mib(value: str | None) -> str:
    if not value:
        return "-"
    return f"{int(value.split()[0]) / 1024:.1f}"


def parse_labels(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', text))


def metric_sum(exposition: str, name: str) -> float:
    total = 0.0
    for metric, _labels, value in SAMPLE_RE.findall(exposition):
        if metric == name:
            with contextlib.suppress(ValueError):
                total += float(value)
    return total


def max_lag(exposition: str) -> float | None:
    values = []
    for _labels, value in LAG_RE.findall(exposition):
        with contextlib.suppress(ValueError):
            values.append(float(value))
    return max(values) if values else None


def ticket_body(tag: str) -> dict[str, Any]:
    return {
        "subject": f"Bench ticket {tag}",
        "description": "Printer on the third floor shows 'offline' since this morning.",
        "requester": {"email": "bench@customer.example"},
        "organization_id": "bench-org",
    }


# ---------------------------------------------------------------- the benchmark


@dataclass
class Bench:
    args: argparse.Namespace
    urls: dict[str, str]
    token: str
    topic_prefix: str
    kafka: str
    notes: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def summary(self, client: httpx.AsyncClient) -> dict[str, Any]:
        r = await client.get(self.urls["reporting"] + "/v1/summary", headers=self.headers)
        r.raise_for_status()
        return dict(r.json())

    async def scrape(self, client: httpx.AsyncClient) -> dict[str, str]:
        async def one(service: str) -> tuple[str, str]:
            try:
                r = await client.get(self.urls[service] + "/metrics")
                return service, r.text
            except httpx.HTTPError:
                return service, ""

        return dict(await asyncio.gather(*(one(s) for s in SERVICES)))

    # ----------------------------------------------------------- phase 1

    async def phase_burst(self, client: httpx.AsyncClient) -> dict[str, Any]:
        a = self.args
        url = self.urls["intake"] + "/v1/tickets"
        latencies: list[float] = []
        statuses: Counter[str] = Counter()
        ids: list[str] = []
        jobs = iter(range(a.burst))

        async def worker() -> None:
            for i in jobs:
                t0 = time.monotonic()
                try:
                    r = await client.post(url, json=ticket_body(f"burst-{i}"), headers=self.headers)
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                t1 = time.monotonic()
                statuses[str(r.status_code)] += 1
                if r.status_code == 201:
                    latencies.append(t1 - t0)
                    ids.append(r.json()["id"])

        start = time.monotonic()
        workers = [asyncio.create_task(worker()) for _ in range(a.concurrency)]
        done, pending = await asyncio.wait(workers, timeout=a.phase_timeout)
        for task in pending:
            task.cancel()
        if pending:
            self.notes.append(f"phase 1 hit its {a.phase_timeout}s deadline")
        wall = time.monotonic() - start
        return {
            "latencies": latencies,
            "statuses": statuses,
            "ids": ids,
            "wall": wall,
            "start": start,
            "end": start + wall,
        }

    async def intake_created(self, client: httpx.AsyncClient) -> int:
        """Tickets intake recorded (its own counter), incl. requests the client gave up on."""
        r = await client.get(self.urls["intake"] + "/metrics")
        return int(metric_sum(r.text, "helpdesk_intake_tickets_created_total"))

    async def settle(self, client: httpx.AsyncClient, deadline: float) -> dict[str, Any]:
        """Wait until every ticket intake recorded is counted by reporting as created, triaged and
        clock started, and nothing has moved for `--settle-quiet` seconds: the phase 2 baseline."""
        last: dict[str, Any] = {}
        key: tuple[int, ...] = ()
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                created = await self.intake_created(client)
                last = await self.summary(client)
                now = time.monotonic()
                counts = (
                    created,
                    last.get("tickets_created", 0),
                    last.get("tickets_triaged", 0),
                    last.get("sla_clocks_started", 0),
                )
                if counts != key:
                    key, quiet_since = counts, now
                elif len(set(counts)) == 1 and now - quiet_since >= self.args.settle_quiet:
                    return {
                        "summary": last,
                        "intake_created": created,
                        "settled_at": quiet_since,
                        "ok": True,
                    }
            await asyncio.sleep(0.1)
        return {
            "summary": last,
            "intake_created": key[0] if key else 0,
            "settled_at": time.monotonic(),
            "ok": False,
        }

    # ----------------------------------------------------------- phase 2

    async def start_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=50,
            client_id="bench-flow",
        )
        await consumer.start()
        tps = []
        for producer in ("triage", "sla"):
            topic = topic_of(producer, self.topic_prefix)
            parts = consumer.partitions_for_topic(topic)
            deadline = time.monotonic() + 20
            while not parts and time.monotonic() < deadline:
                await consumer._client.force_metadata_update()  # topic created by the service
                parts = consumer.partitions_for_topic(topic)
                if not parts:
                    await asyncio.sleep(0.2)
            if not parts:
                raise RuntimeError(f"topic {topic} has no partitions")
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:  # resolve the end positions now, before phase 2 produces anything
            await consumer.position(tp)
        return consumer

    async def consume(
        self, consumer: AIOKafkaConsumer, seen: dict[str, dict[str, float]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    try:
                        event = parse_event(record.value)
                    except MalformedEvent:
                        continue
                    seen[event.type].setdefault(event.subject, now)

    async def poll_reporting(
        self,
        client: httpx.AsyncClient,
        samples: list[tuple[float, ...]],
        durations: list[float],
        stop: asyncio.Event,
    ) -> None:
        interval = self.args.poll_interval
        while not stop.is_set():
            t0 = time.monotonic()
            with contextlib.suppress(httpx.HTTPError, ValueError):
                s = await self.summary(client)
                t1 = time.monotonic()
                durations.append(t1 - t0)
                samples.append(
                    (
                        t1,
                        s.get("tickets_created", 0),
                        s.get("tickets_triaged", 0),
                        s.get("sla_clocks_started", 0),
                    )
                )
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))

    async def sample_lag(
        self, client: httpx.AsyncClient, peak: dict[str, float], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            for service, text in (await self.scrape(client)).items():
                lag = max_lag(text)
                if lag is not None:
                    peak[service] = max(peak.get(service, 0.0), lag)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.args.lag_interval)

    async def phase_rate(self, client: httpx.AsyncClient) -> dict[str, Any]:
        a = self.args
        url = self.urls["intake"] + "/v1/tickets"
        n = int(round(a.rate * a.duration))
        sent: list[dict[str, Any]] = []

        async def send(i: int, scheduled: float) -> None:
            started = time.monotonic()
            rec: dict[str, Any] = {"i": i, "scheduled": scheduled, "started": started}
            sent.append(rec)
            try:
                r = await client.post(url, json=ticket_body(f"rate-{i}"), headers=self.headers)
                rec["status"] = str(r.status_code)
                if r.status_code == 201:
                    rec["id"] = r.json()["id"]
            except httpx.HTTPError as exc:
                rec["status"] = type(exc).__name__
            rec["done"] = time.monotonic()

        t0 = time.monotonic() + 0.1
        tasks = []
        for i in range(n):  # open loop: the schedule never waits for responses
            at = t0 + i / a.rate
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i, at)))
        schedule_end = time.monotonic()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=a.phase_timeout)
            for task in pending:
                task.cancel()
            if pending:
                self.notes.append(
                    f"phase 2: {len(pending)} requests still open after "
                    f"{a.phase_timeout}s were cancelled"
                )
        return {
            "sent": sent,
            "start": t0,
            "schedule_end": schedule_end,
            "end": time.monotonic(),
            "n": n,
        }

    # ----------------------------------------------------------- run

    async def run(self) -> dict[str, Any]:
        a = self.args
        out: dict[str, Any] = {}
        timeout = httpx.Timeout(a.request_timeout, pool=a.phase_timeout)
        limits = httpx.Limits(
            max_connections=a.concurrency, max_keepalive_connections=a.concurrency
        )
        async with (
            httpx.AsyncClient(timeout=timeout, limits=limits) as burst_client,
            httpx.AsyncClient(
                timeout=timeout,
                limits=httpx.Limits(
                    max_connections=a.max_connections, max_keepalive_connections=a.max_connections
                ),
            ) as rate_client,
            httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as side,
        ):
            # warm-up: one request per service path so first-request costs stay out of phase 1
            r = await side.post(
                self.urls["intake"] + "/v1/tickets",
                json=ticket_body("warm-up"),
                headers=self.headers,
            )
            if r.status_code != 201:
                raise RuntimeError(f"warm-up POST /v1/tickets gave {r.status_code}: {r.text[:300]}")
            warm = await self.settle(side, time.monotonic() + a.settle_timeout)
            if not warm["ok"]:
                self.notes.append("the warm-up ticket did not reach reporting in time")

            print(
                f"\nphase 1: {a.burst} tickets, {a.concurrency} concurrent clients ...", flush=True
            )
            burst = await self.phase_burst(burst_client)
            out["burst"] = burst
            settled = await self.settle(side, time.monotonic() + a.settle_timeout)
            out["settle"] = settled
            out["warm_created"] = warm["intake_created"]
            if not settled["ok"]:
                self.notes.append(
                    f"the burst had not settled after {a.settle_timeout}s (intake recorded "
                    f"{settled['intake_created']}, reporting {settled['summary']}); phase 2 "
                    "baselines include late burst events"
                )
            base = settled["summary"]

            print(f"phase 2: {a.rate}/s for {a.duration}s, open loop ...", flush=True)
            consumer = await self.start_consumer()
            seen: dict[str, dict[str, float]] = defaultdict(dict)
            samples: list[tuple[float, ...]] = []
            poll_durations: list[float] = []
            lag_peak: dict[str, float] = {}
            stop_consume, stop_poll, stop_lag = asyncio.Event(), asyncio.Event(), asyncio.Event()
            bg = [
                asyncio.create_task(self.consume(consumer, seen, stop_consume)),
                asyncio.create_task(self.poll_reporting(side, samples, poll_durations, stop_poll)),
                asyncio.create_task(self.sample_lag(side, lag_peak, stop_lag)),
            ]
            try:
                rate = await self.phase_rate(rate_client)
                stop_lag.set()
                end_scrape = await self.scrape(side)  # consumer lag at the end of phase 2
                accepted = {rec["id"]: rec["done"] for rec in rate["sent"] if "id" in rec}
                n_acc = len(accepted)
                drain_deadline = time.monotonic() + a.drain_timeout
                drained = False
                while time.monotonic() < drain_deadline:
                    last = samples[-1] if samples else (0, 0, 0, 0)
                    if (
                        all(t in seen[TRIAGED] for t in accepted)
                        and all(t in seen[CLOCK_STARTED] for t in accepted)
                        and last[1] - base.get("tickets_created", 0) >= n_acc
                        and last[3] - base.get("sla_clocks_started", 0) >= n_acc
                    ):
                        drained = True
                        break
                    await asyncio.sleep(0.05)
                if not drained:
                    self.notes.append(
                        f"phase 2 had not fully drained {a.drain_timeout}s after "
                        "the last response; missing tickets are left out (n < N)"
                    )
                drained_at = time.monotonic()
            finally:
                stop_consume.set()
                stop_poll.set()
                stop_lag.set()
                await asyncio.wait(bg, timeout=5)
                for task in bg:
                    task.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 10)
            final_scrape = await self.scrape(side)
            out.update(
                rate=rate,
                seen=seen,
                samples=samples,
                poll_durations=poll_durations,
                base=base,
                lag_peak=lag_peak,
                end_scrape=end_scrape,
                final_scrape=final_scrape,
                drained=drained,
                drained_at=drained_at,
                accepted=accepted,
                final_summary=await self.summary(side),
                base_intake=settled["intake_created"],
                final_intake=int(
                    metric_sum(
                        final_scrape.get("intake", ""), "helpdesk_intake_tickets_created_total"
                    )
                ),
            )
        return out


# ---------------------------------------------------------------- report


def first_reach(
    samples: Sequence[tuple[float, ...]], column: int, base: int, n: int
) -> list[float]:
    """times[k-1] = first poll time at which counter - base >= k (k = 1..n), while it exists."""
    times: list[float] = []
    for sample in samples:
        value = int(sample[column]) - base
        while len(times) < n and value >= len(times) + 1:
            times.append(sample[0])
    return times


def report(bench: Bench, out: dict[str, Any], rss: dict[str, dict[str, str]]) -> None:
    a = bench.args
    print("\n=== Phase 1: intake throughput (closed loop) ===")
    burst = out["burst"]
    acc = len(burst["ids"])
    recorded = out["settle"]["intake_created"] - out["warm_created"]
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(burst["statuses"].items()))
    print(
        table(
            ["figure", "value"],
            [
                ["tickets posted / accepted (201)", f"{a.burst} / {acc}"],
                ["responses by status", statuses or "-"],
                [
                    "tickets recorded by intake (incl. requests the client gave up on)",
                    f"{recorded}" if out["settle"]["ok"] else f"{recorded} (not settled)",
                ],
                ["wall time", f"{burst['wall']:.2f} s"],
                [
                    "accepted tickets per second",
                    f"{acc / burst['wall']:.1f}" if burst["wall"] else "-",
                ],
                [
                    "burst fully counted by reporting (created, triaged, clocks started)",
                    f"{out['settle']['settled_at'] - burst['start']:.2f} s after the first POST"
                    if out["settle"]["ok"]
                    else f"not within {a.settle_timeout}s",
                ],
                [
                    "=> pipeline throughput intake->triage->sla->reporting",
                    f"{recorded / (out['settle']['settled_at'] - burst['start']):.1f} tickets/s"
                    if out["settle"]["ok"]
                    else "-",
                ],
            ],
        )
    )
    print(table(LAT_HEADERS, [latency_row("HTTP POST /v1/tickets (201 only)", burst["latencies"])]))

    rate = out["rate"]
    sent = rate["sent"]
    accepted: dict[str, float] = out["accepted"]
    n_acc = len(accepted)
    statuses2 = Counter(rec.get("status", "cancelled") for rec in sent)
    late = [rec["started"] - rec["scheduled"] for rec in sent]
    http = [rec["done"] - rec["scheduled"] for rec in sent if "id" in rec]
    print(f"\n=== Phase 2: end-to-end latency at {a.rate}/s for {a.duration}s (open loop) ===")
    window = rate["schedule_end"] - rate["start"]
    achieved = len(sent) / window if window > 0 else 0.0
    created2 = out["final_intake"] - out["base_intake"]
    skewed = created2 != n_acc
    print(
        table(
            ["figure", "value"],
            [
                ["tickets scheduled / accepted (201)", f"{rate['n']} / {n_acc}"],
                [
                    "responses by status",
                    ", ".join(f"{k}: {v}" for k, v in sorted(statuses2.items())),
                ],
                ["achieved arrival rate (requests sent / schedule window)", f"{achieved:.1f} /s"],
                ["tickets recorded by intake during phase 2", f"{created2}"],
                [
                    "sender lateness p99 / max (start - schedule)",
                    f"{ms(pct(late, 99))} / {ms(max(late) if late else None)} ms",
                ],
                [
                    "tickets already in the system (open, with running clocks)",
                    f"{out['base_intake']} before phase 2, {out['final_intake']} after",
                ],
                ["fully drained", "yes" if out["drained"] else f"no (within {a.drain_timeout}s)"],
            ],
        )
    )
    seen = out["seen"]
    to_triaged = [seen[TRIAGED][t] - acc_t for t, acc_t in accepted.items() if t in seen[TRIAGED]]
    to_clock = [
        seen[CLOCK_STARTED][t] - acc_t for t, acc_t in accepted.items() if t in seen[CLOCK_STARTED]
    ]
    accept_times = sorted(accepted.values())
    base = out["base"]
    samples = out["samples"]
    vis_created = first_reach(samples, 1, int(base.get("tickets_created", 0)), n_acc)
    vis_clocks = first_reach(samples, 3, int(base.get("sla_clocks_started", 0)), n_acc)
    star = " (*)" if skewed else ""
    to_visible = [v - acc_t for v, acc_t in zip(vis_created, accept_times, strict=False)]
    to_visible_clock = [v - acc_t for v, acc_t in zip(vis_clocks, accept_times, strict=False)]
    print(
        table(
            LAT_HEADERS,
            [
                latency_row("HTTP POST (from scheduled send)", http, rate["n"]),
                latency_row("accepted -> ticket.triaged on Kafka", to_triaged, n_acc),
                latency_row("accepted -> sla.clock_started on Kafka", to_clock, n_acc),
                latency_row(
                    "accepted -> counted in reporting (tickets_created)" + star, to_visible, n_acc
                ),
                latency_row(
                    "accepted -> clock counted in reporting (sla_clocks_started)" + star,
                    to_visible_clock,
                    n_acc,
                ),
            ],
        )
    )
    if skewed:
        print(
            f"{star} SKEWED: intake recorded {created2} tickets during phase 2 but the client got "
            f"{n_acc} 201s (requests that timed out on the client were still carried out, or\n"
            "burst tickets arrived late), so the k-th counter step is not the k-th accepted "
            "ticket; read these two rows with care."
        )
    pd = out["poll_durations"]
    print(
        "Method: 'accepted' is when the client received the 201. Kafka times are when this\n"
        "script's own consumer (no group, positioned at the end of the triage and sla topics\n"
        "before phase 2) received the event, matched to the ticket by its subject (ticket id).\n"
        f"Reporting: GET /v1/summary polled every {a.poll_interval * 1000:.0f} ms "
        f"({len(samples)} polls, each took p50 {ms(pct(pd, 50))} / max "
        f"{ms(max(pd) if pd else None)} ms);\n"
        "the counters do not say which ticket they counted, so the k-th accepted ticket is taken\n"
        "as visible at the first poll whose counter (minus its value before phase 2) reached k.\n"
        "That time is the poll's response time: an upper bound, late by up to one poll interval\n"
        "plus one poll's duration. Percentiles are nearest-rank."
    )

    print("\n=== Consumer lag (helpdesk_consumer_lag, max over topics and partitions) ===")
    lag_rows = []
    for service in SERVICES:
        end = max_lag(out["end_scrape"].get(service, ""))
        final = max_lag(out["final_scrape"].get(service, ""))
        peak = out["lag_peak"].get(service)
        if end is None and final is None and peak is None:
            lag_rows.append([service, "n/a (consumes nothing)", "-", "-"])
            continue
        lag_rows.append(
            [
                service,
                "-" if end is None else f"{end:.0f}",
                "-" if peak is None else f"{peak:.0f}",
                "-" if final is None else f"{final:.0f}",
            ]
        )
    print(
        table(
            [
                "service",
                "at end of phase 2",
                f"max seen in phase 2 (every {a.lag_interval}s)",
                "after drain",
            ],
            lag_rows,
        )
    )
    print(
        "The gauge is set when a service consumes a message: the messages behind the partition "
        "end at that moment."
    )

    print("\n=== Peak memory per service process (/proc/<pid>/status, after the run) ===")
    rows = []
    for service in SERVICES:
        st = rss.get(service, {})
        rows.append(
            [
                service,
                st.get("pid", "-"),
                kib_to_mib(st.get("VmHWM")),
                kib_to_mib(st.get("VmRSS")),
                st.get("cpu") or "-",
            ]
        )
    own = resource.getrusage(resource.RUSAGE_SELF)
    rows.append(["(this script)", str(os.getpid()), "-", "-", f"{own.ru_utime + own.ru_stime:.1f}"])
    print(
        table(
            ["service", "pid", "peak RSS (VmHWM) MiB", "RSS at end MiB", "CPU s (user+sys)"], rows
        )
    )

    print("\n=== Service counters at the end (from /metrics) ===")
    rows = []
    for service in SERVICES:
        text = out["final_scrape"].get(service, "")
        rows.append(
            [
                service,
                f"{metric_sum(text, 'helpdesk_events_in_total'):.0f}",
                f"{metric_sum(text, 'helpdesk_events_out_total'):.0f}",
                f"{metric_sum(text, 'helpdesk_events_failed_total'):.0f}",
                f"{metric_sum(text, 'helpdesk_events_dead_lettered_total'):.0f}",
                f"{metric_sum(text, 'helpdesk_events_duplicate_total'):.0f}",
            ]
        )
    print(
        table(
            [
                "service",
                "events in",
                "events out",
                "failed attempts",
                "dead-lettered",
                "duplicates skipped",
            ],
            rows,
        )
    )
    conflicts = metric_sum(
        out["final_scrape"].get("intake", ""), "helpdesk_intake_number_conflicts_total"
    )
    print(f"intake ticket-number allocation conflicts (retried): {conflicts:.0f}")


def scan_logs(log_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    pattern = re.compile(r'"level": "(ERROR|CRITICAL)"|Traceback|^ERROR|^CRITICAL')
    for service in SERVICES:
        path = log_dir / f"{service}.log"
        if not path.exists():
            continue
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if pattern.search(ln)]
        if lines:
            found[service] = lines
    return found


# ---------------------------------------------------------------- set-up and clean-up


async def drop_topics_and_groups(kafka: str, topic_prefix: str, groups: list[str]) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, client_id="bench-flow-cleanup")
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith(topic_prefix)]
        if ours:
            await admin.delete_topics(ours)
        msg = f"deleted {len(ours)} topics"
        try:  # aiokafka's admin has no delete_consumer_groups; send DeleteGroups ourselves
            from aiokafka.protocol.admin import DeleteGroupsRequest

            existing = {g[0] for g in await admin.list_consumer_groups()}
            mine = [g for g in groups if g in existing]
            for group in mine:
                node = await admin.find_coordinator(group)
                await admin._send_request_to_node(node, DeleteGroupsRequest([group]))
            msg += f", {len(mine)} consumer groups"
        except Exception as exc:  # best effort: an empty group expires on its own
            msg += f" (consumer groups left: {exc!r})"
        return msg
    finally:
        await admin.close()


def drop_databases(uri: str, db_prefix: str) -> str:
    client: MongoClient[Any] = MongoClient(
        uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000
    )
    try:
        ours = [n for n in client.list_database_names() if n.startswith(db_prefix)]
        for name in ours:
            client.drop_database(name)
        return f"dropped {len(ours)} databases"
    finally:
        client.close()


def clean_up(kafka: str, mongo_uri: str, run_prefix: str) -> tuple[list[str], bool]:
    """Drop the run's databases (`<run_prefix>_*`), topics (`<run_prefix>.*`) and groups."""
    done, ok = [], True
    try:
        done.append(drop_databases(mongo_uri, f"{run_prefix}_"))
    except Exception as exc:
        done.append(f"dropping databases failed: {exc!r}")
        ok = False
    topic_prefix = f"{run_prefix}."
    try:
        groups = [f"{topic_prefix}{s}" for s in SERVICES]
        done.append(
            asyncio.run(
                asyncio.wait_for(drop_topics_and_groups(kafka, topic_prefix, groups), timeout=60)
            )
        )
    except Exception as exc:
        done.append(f"deleting topics failed: {exc!r}")
        ok = False
    return done, ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rate", type=float, default=10.0, help="phase 2 arrivals per second")
    p.add_argument("--duration", type=float, default=20.0, help="phase 2 seconds")
    p.add_argument("--burst", type=int, default=100, help="phase 1 tickets")
    p.add_argument("--concurrency", type=int, default=10, help="phase 1 concurrent clients")
    p.add_argument("--poll-interval", type=float, default=0.05, help="reporting poll, seconds")
    p.add_argument("--lag-interval", type=float, default=1.0, help="/metrics scrape, seconds")
    p.add_argument(
        "--max-connections",
        type=int,
        default=256,
        help="phase 2 connection pool (open loop needs headroom)",
    )
    p.add_argument("--request-timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument(
        "--phase-timeout",
        type=float,
        default=120.0,
        help="deadline for the requests of one phase, seconds",
    )
    p.add_argument(
        "--settle-quiet",
        type=float,
        default=2.0,
        help="the burst counts as settled when no counter moved for this long, seconds",
    )
    p.add_argument(
        "--settle-timeout",
        type=float,
        default=60.0,
        help="wait for reporting to count the burst before phase 2, seconds",
    )
    p.add_argument(
        "--drain-timeout",
        type=float,
        default=60.0,
        help="wait for phase 2's events after its last response, seconds",
    )
    p.add_argument("--ready-timeout", type=float, default=120.0, help="services ready, seconds")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="hard deadline for the whole measurement, seconds",
    )
    p.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the services' logs (kept anyway when they hold errors)",
    )
    p.add_argument(
        "--cleanup",
        metavar="RUN_PREFIX",
        help="only drop what an earlier run left (databases RUN_PREFIX_*, topics RUN_PREFIX.*)",
    )
    args = p.parse_args(argv)
    if args.cleanup is not None and not re.fullmatch(r"bench[0-9a-f]{8}", args.cleanup):
        p.error("--cleanup takes a run prefix as printed by a run: bench<8 hex digits>")
    if args.rate <= 0 or args.duration <= 0 or args.burst < 1 or args.concurrency < 1:
        p.error("--rate and --duration must be > 0, --burst and --concurrency >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    settings = ServiceSettings()
    kafka, mongo_uri = settings.kafka_bootstrap_servers, settings.mongodb_uri
    for host in kafka_hosts(kafka) + mongo_hosts(mongo_uri):
        if not is_loopback(host):
            print(f"refusing to run against a non-loopback host: {host!r}", file=sys.stderr)
            return 2

    if args.cleanup:
        done, cleaned = clean_up(kafka, mongo_uri, args.cleanup)
        print(f"cleanup of {args.cleanup}: {'; '.join(done)}")
        return 0 if cleaned else 1

    kafka_logger = logging.getLogger("aiokafka")
    kafka_logger.addHandler(KAFKA_LOG)
    kafka_logger.propagate = False

    run_id = secrets.token_hex(4)
    topic_prefix, db_prefix = f"bench{run_id}.", f"bench{run_id}_"
    secret = secrets.token_urlsafe(48)
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    tmp = Path(tempfile.mkdtemp(prefix=f"switchboard-bench-{run_id}-"))
    log_dir = tmp / "logs"

    print("=== Machine ===")
    print(table(["fact", "value"], machine_facts()))
    print("\n=== Parameters ===")
    params = [(k.replace("_", "-"), str(v)) for k, v in vars(args).items()]
    params += [
        ("kafka", kafka),
        ("mongodb", mongo_uri),
        ("topic prefix", topic_prefix),
        ("db prefix", db_prefix),
        ("service ports", str(ports)),
        ("logs", str(log_dir)),
        (
            "services",
            "1 process each, uvicorn, 1 worker; HELPDESK_TOPIC_PARTITIONS="
            + os.environ.get("HELPDESK_TOPIC_PARTITIONS", str(settings.topic_partitions)),
        ),
    ]
    print(table(["parameter", "value"], params), flush=True)

    mail = MailSink()  # the acknowledgements go to a real SMTP server on loopback
    mail_relay = start_sink(mail)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URI": mongo_uri,
        "HELPDESK_TOPIC_PREFIX": topic_prefix,
        "HELPDESK_DB_PREFIX": db_prefix,
        "HELPDESK_JWT_SECRET": secret,
        "HTTP_HOST": "127.0.0.1",
        "HELPDESK_SMTP_PORT": str(mail_relay.port),
        "HELPDESK_SMTP_LISTEN_PORT": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    stack = Stack(env, ports=ports, log_dir=log_dir)
    token = issue_token(secret, sub="bench", roles=["agent"])
    bench = Bench(args, {s: stack.url(s) for s in SERVICES}, token, topic_prefix, kafka)
    out: dict[str, Any] | None = None
    rss: dict[str, dict[str, str]] = {}
    failed: BaseException | None = None
    try:
        print("\nstarting the five services ...", flush=True)
        t0 = time.monotonic()
        stack.start_all()
        stack.wait_ready(timeout=args.ready_timeout)
        print(f"ready after {time.monotonic() - t0:.1f} s", flush=True)
        out = asyncio.run(asyncio.wait_for(bench.run(), timeout=args.max_seconds))
    except (Exception, KeyboardInterrupt) as exc:
        failed = exc
    finally:
        for service, proc in stack.procs.items():
            st = proc_status(proc.pid) if proc.poll() is None else {}
            rss[service] = {
                "pid": str(proc.pid),
                "VmHWM": st.get("VmHWM", ""),
                "VmRSS": st.get("VmRSS", ""),
                "cpu": proc_cpu_seconds(proc.pid) if proc.poll() is None else "",
            }
            if proc.poll() is not None:
                bench.notes.append(f"{service} had exited with {proc.returncode} before the end")
        stack.stop_all()
        mail_relay.stop()
        bench.notes.append(f"the SMTP sink received {len(mail.received)} acknowledgements")
        cleanup, cleaned = clean_up(kafka, mongo_uri, f"bench{run_id}")

    if out is not None:
        report(bench, out, rss)
    errors = scan_logs(log_dir)
    print("\n=== Service logs ===")
    if errors:
        for service, lines in errors.items():
            print(f"{service}: {len(lines)} error lines, e.g.")
            for line in list(dict.fromkeys(ln[:300] for ln in lines))[:3]:
                print(f"  {line}")
    else:
        print("no ERROR/CRITICAL lines or tracebacks in the services' logs")
    if KAFKA_LOG.counts:
        top = KAFKA_LOG.counts.most_common(1)[0]
        bench.notes.append(
            f"this script's Kafka clients logged {sum(KAFKA_LOG.counts.values())} warnings or "
            f"errors (most often {top[1]}x: {top[0]!r}); was the broker restarted?"
        )
    for note in bench.notes:
        print(f"note: {note}")
    if failed is not None:
        print(f"\nthe benchmark stopped early: {failed!r}", file=sys.stderr)
    print(f"\ncleanup: {'; '.join(cleanup)}")
    if not cleaned:
        print(f"re-run the clean-up later with: {sys.argv[0]} --cleanup bench{run_id}")
    if errors or args.keep_logs or failed is not None:
        print(f"logs kept in {log_dir}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed is not None else 0


if __name__ == "__main__":
    sys.exit(main())
