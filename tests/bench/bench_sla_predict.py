"""How well breaches are seen coming, on a synthetic week replayed through the SLA's own rules.

    .venv/bin/python tests/bench/bench_sla_predict.py --seed 7 --check-minutes 10

No infrastructure: tickets arrive at random (busier by day), a few agents (more by day) take
them by priority then age, which is the first response, and handle them, which resolves them.
Each ticket's clock (platinum policies, 24x7) is driven by the domain functions sla uses;
every `--check-minutes` the predictor reads all clocks as sla's does. It prints how many
targets were missed, how many of those were flagged ahead (before the 75% warning would have
said so) and how early, and how many flags turned out false (the target was met).
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.sla.domain import (  # noqa: E402
    SlaClock,
    agent_replied,
    always_on,
    assess,
    default_policies,
    learn,
    resolved,
    start,
)

CAL = always_on()
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def week(rng: random.Random, args: argparse.Namespace) -> list[tuple[datetime, str]]:
    arrivals, at = [], T0
    while at < T0 + timedelta(days=7):
        day = 8 <= at.hour < 18 and at.weekday() < 5
        rate = args.day_rate if day else args.night_rate  # tickets per hour
        at += timedelta(hours=rng.expovariate(rate))
        arrivals.append((at, rng.choices(["highest", "high", "normal"], [1, 3, 6])[0]))
    return arrivals


def agents_on(at: datetime, args: argparse.Namespace) -> int:
    return args.day_agents if 8 <= at.hour < 18 and at.weekday() < 5 else args.night_agents


def simulate(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    policies = default_policies()
    clocks: dict[str, SlaClock] = {}
    flags: dict[tuple[str, str], datetime] = {}
    waiting: list[tuple[int, datetime, str]] = []
    busy_until: list[datetime] = []
    arrivals = iter(week(rng, args))
    nxt = next(arrivals, None)
    now, step = T0, timedelta(minutes=1)
    check_every = timedelta(minutes=args.check_minutes)
    last_check = T0
    done: list[tuple[datetime, str]] = []  # (resolution time, ticket)
    while now < T0 + timedelta(days=7, hours=12):
        while nxt and nxt[0] <= now:
            tid = f"t{len(clocks)}"
            policy = policies[f"platinum/{nxt[1]}"]
            clocks[tid] = start(tid, tid, policy, CAL, nxt[0], queue="operations")
            heapq.heappush(waiting, (["highest", "high", "normal"].index(nxt[1]), nxt[0], tid))
            nxt = next(arrivals, None)
        busy_until = [b for b in busy_until if b > now]
        while waiting and len(busy_until) < agents_on(now, args):
            _, _, tid = heapq.heappop(waiting)
            clocks[tid], _ = agent_replied(clocks[tid], CAL, now)
            handling = timedelta(minutes=rng.expovariate(1 / args.handling_minutes))
            busy_until.append(now + handling)
            heapq.heappush(done, (now + handling, tid))
        while done and done[0][0] <= now:
            _, tid = heapq.heappop(done)
            clocks[tid], _ = resolved(clocks[tid], CAL, now)
        if now - last_check >= check_every:
            last_check = now
            stats = learn(list(clocks.values()), now)
            for c in clocks.values():
                for t in c.targets:
                    key = (c.ticket_id, t.name)
                    if key in flags:
                        continue
                    if assess(c, t, stats.get((c.queue or "-", t.name)), CAL, now):
                        flags[key] = now
        now += step
    report(clocks, flags, args)


def report(
    clocks: dict[str, SlaClock], flags: dict[tuple[str, str], datetime], args: argparse.Namespace
) -> None:
    missed, ahead, leads, false = 0, 0, [], 0
    for c in clocks.values():
        for t in c.targets:
            if t.name == "next_update" or t.outcome is None:
                continue
            flagged = flags.get((c.ticket_id, t.name))
            due = c.started_at + timedelta(seconds=t.target_seconds)  # 24x7: plain time
            if t.outcome == "missed":
                missed += 1
                if flagged is not None and flagged < due:
                    ahead += 1
                    leads.append((due - flagged).total_seconds() / 60)
            elif flagged is not None:
                false += 1
    targets = sum(1 for c in clocks.values() for t in c.targets if t.outcome)
    print(f"parameters: {vars(args)}")
    print(f"tickets: {len(clocks)}; targets with an outcome: {targets}; missed: {missed}")
    print(f"missed targets flagged ahead: {ahead} of {missed}")
    if leads:
        print(f"how early (min before due): median {median(leads):.0f}, min {min(leads):.0f}")
    counted = sum(1 for (_, name) in flags if name != "next_update")
    print(f"flags that turned out false (target met): {false} of {counted} flags")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check-minutes", type=int, default=10)
    parser.add_argument("--day-rate", type=float, default=5.0)
    parser.add_argument("--night-rate", type=float, default=1.0)
    parser.add_argument("--day-agents", type=int, default=2)
    parser.add_argument("--night-agents", type=int, default=1)
    parser.add_argument("--handling-minutes", type=float, default=25.0)
    simulate(parser.parse_args())
