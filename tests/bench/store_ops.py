"""Database operations a run made, counted by the local FerretDB itself.

FerretDB counts every command it serves (`ferretdb_client_requests_total{command=...}` on its debug
endpoint). Start a FerretDB for the measurement with `--debug-addr=127.0.0.1:8089` (infra.sh runs
its own with the endpoint off), then:

    .venv/bin/python tests/bench/store_ops.py snapshot http://127.0.0.1:8089 > before.txt
    MONGODB_URI=mongodb://127.0.0.1:<its port>/?directConnection=true \\
        .venv/bin/python tests/bench/bench_flow.py
    .venv/bin/python tests/bench/store_ops.py diff http://127.0.0.1:8089 before.txt --tickets 300

`diff` prints the commands served since the snapshot, by command, and per ticket when `--tickets`
says how many the run created. Everything the run did counts: start-up, the benchmark's own polls.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import httpx

SAMPLE = re.compile(r'^ferretdb_client_requests_total\{command="([^"]+)",[^}]*\}\s+(\S+)', re.M)


def counts(url: str) -> dict[str, float]:
    text = httpx.get(f"{url.rstrip('/')}/debug/metrics", timeout=10).text
    found: dict[str, float] = {}
    for command, value in SAMPLE.findall(text):
        found[command] = found.get(command, 0.0) + float(value)
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["snapshot", "diff"])
    p.add_argument("url", help="FerretDB's debug address, e.g. http://127.0.0.1:8089")
    p.add_argument("before", nargs="?", type=Path, help="a snapshot (for diff)")
    p.add_argument("--tickets", type=int, default=0, help="tickets the run created")
    args = p.parse_args(argv)
    now = counts(args.url)
    if args.action == "snapshot":
        for command, value in sorted(now.items()):
            print(f"{command} {value:.0f}")
        return 0
    if args.before is None:
        p.error("diff needs the snapshot file")
    before = {
        line.split()[0]: float(line.split()[1])
        for line in args.before.read_text().splitlines()
        if line.strip()
    }
    rows = {c: now[c] - before.get(c, 0.0) for c in now}
    total = sum(v for c, v in rows.items() if c not in ("ismaster", "isMaster", "hello"))
    for command, value in sorted(rows.items(), key=lambda kv: -kv[1]):
        if value:
            per = f"  {value / args.tickets:8.1f} per ticket" if args.tickets else ""
            print(f"{command:>20} {value:10.0f}{per}")
    per_ticket = f" ({total / args.tickets:.1f} per ticket)" if args.tickets else ""
    print(f"{'total':>20} {total:10.0f}{per_ticket}  (handshakes left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
