"""How well recurring incidents are found, on synthetic labelled incidents fed in time order
through the problems service's own RecurrenceIndex.

    .venv/bin/python tests/bench/bench_recurrence.py --seed 1 --k 3 --window-days 7
    .venv/bin/python tests/bench/bench_recurrence.py --seeds 1 2 3   # one block per seed
    .venv/bin/python tests/bench/bench_recurrence.py --scale 10000   # add time at volume

No infrastructure. The incidents come from tests/bench/recurrence_data.py: 24 faults reported
in four languages with paraphrases and typos, and about 35% noise (hard negatives included).
A fault is detectable when k of its incidents fall within one window; its incidents in such a
stretch are the detectable ones. Each incident is assigned to the candidate it was announced
in or joined (RecurrenceIndex.joins). It prints (never asserts):
- pairwise precision: of the incident pairs assigned to the same candidate, the share from the
  same fault; pairwise recall: of the pairs of detectable incidents of the same fault, the share
  assigned to the same candidate;
- candidate precision: the share of candidates whose members are at least 80% from one fault;
  fault recall: the share of detectable faults that are the main fault of some candidate;
  duplicates: candidates for a fault that already had one;
- noise (and hard negatives) assigned to a candidate; per language, the share of detectable
  incidents assigned to their fault's candidate;
- detection delay: how many of a fault's incidents had arrived when it was first announced
  (k at best), and hours since its first incident;
- the time to add all incidents. `--scale N` instead adds N incidents (copies of the data set
  with other seeds, squeezed into the same four weeks, so about N/4 are in a 7-day window) and
  prints only times.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.problems.domain import features, recurrence  # noqa: E402
from services.problems.domain.recurrence import (  # noqa: E402
    THRESHOLD,
    Candidate,
    RecurrenceIndex,
)
from tests.bench.recurrence_data import Record, generate  # noqa: E402


def machine() -> str:
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("\n", 1)[0].split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    return f"{os.cpu_count()} cores, {memory}, Python {platform.python_version()}"


def detectable(records: list[Record], k: int, window: timedelta) -> set[str]:
    """Ticket ids of fault incidents with k-1 others of their fault within one window."""
    times: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for r in records:
        if r.label:
            times[r.label].append((r.incident.at, r.incident.ticket_id))
    found: set[str] = set()
    for stamps in times.values():
        stamps.sort()
        for i in range(len(stamps) - k + 1):
            j = i + k - 1
            if stamps[j][0] - stamps[i][0] <= window:
                found.update(tid for _, tid in stamps[i : j + 1])
    return found


def run(records: list[Record], args: argparse.Namespace) -> dict[str, float]:
    window = timedelta(days=args.window_days)
    index = RecurrenceIndex(k=args.k, window=window, threshold=args.threshold)
    candidates: list[tuple[Candidate, int]] = []  # with how many incidents had arrived
    assigned: dict[str, str] = {}
    started = time.perf_counter()
    for n, r in enumerate(records, start=1):
        found = index.add(r.incident)
        if found:
            candidates.append((found, n))
            assigned.update(dict.fromkeys(found.ticket_ids, found.candidate_id))
        elif joined := index.joins(r.incident):
            assigned[r.incident.ticket_id] = joined
    elapsed = time.perf_counter() - started
    return report(records, candidates, assigned, elapsed, args)


def report(
    records: list[Record],
    candidates: list[tuple[Candidate, int]],
    assigned: dict[str, str],
    elapsed: float,
    args: argparse.Namespace,
) -> dict[str, float]:
    label = {r.incident.ticket_id: r.label for r in records}
    dense = detectable(records, args.k, timedelta(days=args.window_days))
    noise = [r for r in records if r.label is None]
    print(
        f"incidents {len(records)}: {len(records) - len(noise)} in"
        f" {len({r.label for r in records if r.label})} faults"
        f" ({len({label[t] for t in dense})} detectable: k={args.k} within {args.window_days}"
        f" days, {len(dense)} detectable incidents), {len(noise)} noise"
        f" ({sum(r.hard_negative for r in noise)} hard negatives)"
    )
    members = {t for c, _ in candidates for t in c.ticket_ids}
    print(
        f"candidates announced {len(candidates)} ({len(members)} members),"
        f" {len(assigned) - len(members)} incidents joined one later"
    )
    figures = pairwise(label, dense, assigned) | cluster_level(records, candidates, dense)
    pulled = [r for r in noise if r.incident.ticket_id in assigned]
    print(
        f"noise assigned to a candidate: {len(pulled)} of {len(noise)}"
        f" ({sum(r.incident.ticket_id in members for r in pulled)} as members, the rest joined;"
        f" {sum(r.hard_negative for r in pulled)} hard negatives)"
    )
    by_language(records, candidates, dense, assigned)
    print(
        f"add time: {elapsed:.2f} s for {len(records)} ({elapsed / len(records) * 1e6:.0f} µs each)"
    )
    return figures


def pairwise(
    label: dict[str, str | None], dense: set[str], assigned: dict[str, str]
) -> dict[str, float]:
    groups: dict[str, list[str]] = defaultdict(list)
    for ticket_id, cid in assigned.items():
        groups[cid].append(ticket_id)
    pairs = [(a, b) for group in groups.values() for a, b in combinations(group, 2)]
    right = sum(1 for a, b in pairs if label[a] is not None and label[a] == label[b])
    wanted = [(a, b) for a, b in combinations(sorted(dense), 2) if label[a] == label[b]]
    found = sum(1 for a, b in wanted if a in assigned and assigned.get(b) == assigned[a])
    precision = right / len(pairs) if pairs else float("nan")
    recall = found / len(wanted) if wanted else float("nan")
    print(
        f"pairwise: precision {precision:.3f} ({right} of {len(pairs)} pairs),"
        f" recall {recall:.3f} ({found} of {len(wanted)} detectable pairs)"
    )
    return {"pair_p": precision, "pair_r": recall}


def main_fault(candidate: Candidate, records: list[Record]) -> tuple[str | None, float]:
    label = {r.incident.ticket_id: r.label for r in records}
    fault, count = Counter(label[t] for t in candidate.ticket_ids).most_common(1)[0]
    return fault, count / len(candidate.ticket_ids)


def cluster_level(
    records: list[Record], candidates: list[tuple[Candidate, int]], dense: set[str]
) -> dict[str, float]:
    dense_faults = {r.label for r in records if r.incident.ticket_id in dense}
    detected: set[str] = set()
    pure, duplicates, delays, hours = 0, 0, [], []
    for candidate, arrived in candidates:
        fault, share = main_fault(candidate, records)
        pure += fault is not None and share >= 0.8
        if fault is None or fault in detected:
            duplicates += fault is not None
            continue
        detected.add(fault)
        seen = [r for r in records[:arrived] if r.label == fault]
        delays.append(len(seen))
        hours.append((records[arrived - 1].incident.at - seen[0].incident.at) / timedelta(hours=1))
    precision = pure / len(candidates) if candidates else float("nan")
    recall = len(detected & dense_faults) / len(dense_faults) if dense_faults else float("nan")
    print(
        f"cluster level: candidate precision {precision:.3f} ({pure} of {len(candidates)} are"
        f" >= 80% one fault), fault recall {recall:.3f} ({len(detected & dense_faults)} of"
        f" {len(dense_faults)}), duplicate candidates {duplicates},"
        f" undetectable faults announced {len(detected - dense_faults)}"
    )
    if delays:
        print(
            f"detection delay: median {median(delays)} incidents of the fault (min {min(delays)},"
            f" max {max(delays)}), median {median(hours):.1f} h after its first incident"
        )
    return {"cand_p": precision, "fault_r": recall}


def by_language(
    records: list[Record],
    candidates: list[tuple[Candidate, int]],
    dense: set[str],
    assigned: dict[str, str],
) -> None:
    fault_of = {c.candidate_id: main_fault(c, records)[0] for c, _ in candidates}
    shares = []
    for language in ("en", "sv", "pl", "ru"):
        mine = [r for r in records if r.language == language and r.incident.ticket_id in dense]
        right = sum(
            1 for r in mine if fault_of.get(assigned.get(r.incident.ticket_id, "")) == r.label
        )
        shares.append(f"{language} {right}/{len(mine)}")
    print("detectable incidents in their fault's candidate, by language: " + ", ".join(shares))


def scale(args: argparse.Namespace) -> None:
    records: list[Record] = []
    copy = 0
    while len(records) < args.scale:
        for r in generate(args.seed + copy):
            incident = replace(r.incident, ticket_id=f"c{copy}-{r.incident.ticket_id}")
            records.append(replace(r, incident=incident))
        copy += 1
    records = sorted(records[: args.scale], key=lambda r: r.incident.at)
    window = timedelta(days=args.window_days)
    index = RecurrenceIndex(k=args.k, window=window, threshold=args.threshold)
    started, peak, announced = time.perf_counter(), 0, 0
    for r in records:
        announced += index.add(r.incident) is not None
        peak = max(peak, len(index))
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    for r in records[-200:]:
        index.similar(r.incident, 10)
    lookup = (time.perf_counter() - started) / 200
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"scale: {len(records)} incidents ({copy} copies in the same 4 weeks) added in"
        f" {elapsed:.1f} s ({elapsed / len(records) * 1e6:.0f} µs each), at most {peak} in the"
        f" window, {announced} candidates; similar(limit=10) {lookup * 1e3:.1f} ms;"
        f" peak RSS of this process {rss_kib / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", help="run these seeds, one after another")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--window-days", type=float, default=7.0)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--scale", type=int, default=0, help="only time adding N incidents")
    arguments = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"parameters: {vars(arguments)}")
    tuning = ("LINK_FLOOR", "JOIN_SHARE", "TEXT_WEIGHTS", "METADATA", "PRIOR_DOCS")
    shown = [f"{name}={getattr(recurrence, name)}" for name in tuning]
    print("similarity: " + ", ".join([*shown, f"GRAM={features.GRAM}"]))
    if arguments.scale:
        scale(arguments)
    else:
        results = {}
        for seed in arguments.seeds or [arguments.seed]:
            print(f"--- seed {seed}")
            results[seed] = run(generate(seed), arguments)
        if len(results) > 1:
            print("seed  pair-precision  pair-recall  candidate-precision  fault-recall")
            for seed, r in results.items():
                print(
                    f"{seed:>4}  {r['pair_p']:>14.3f}  {r['pair_r']:>11.3f}"
                    f"  {r['cand_p']:>19.3f}  {r['fault_r']:>12.3f}"
                )
