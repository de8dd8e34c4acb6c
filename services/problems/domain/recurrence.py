"""Recurrence: when k similar incidents arrive within a window, a problem candidate names them,
once. Pure: time comes with each incident, nothing is read or written.

An incident is a sparse vector in blocks (domain/features.py: words, phonetic 4-grams,
technical tokens, product, version, asset), each scaled to unit length.
Similarity is the mean cosine of the text blocks (codes only when both incidents have some),
times a factor from the metadata both have: the same product, version or asset raise it a
little, another product lowers it a lot. Metadata alone never makes a match: another matter of
the same product shares it too. The organisation is left out: a customer reports many things.
idf is counted over the incidents in the window, plus a prior of unrelated documents so that a
young index does not flatten it, and each incident keeps the idf of the moment it arrived.
Across languages, matches come mostly from the shared codes, product and loanwords.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .features import IncidentText, features, key, spellings

K = 3
WINDOW = timedelta(days=7)
THRESHOLD = 0.40  # tuned with tests/bench/bench_recurrence.py on seed 1, checked on 2-7
LINK_FLOOR = 0.5  # a group member may be this share of the threshold from one other member
JOIN_SHARE = 0.85  # resembling an announced incident this much joins its candidate
TEXT_WEIGHTS = {"w": 1.0, "g": 1.0, "c": 1.0}  # codes count only when both have some
METADATA = {"p": (0.15, -0.5), "v": (0.1, 0.0), "a": (0.1, 0.0)}  # (agree, differ)
IDF_BLOCKS = frozenset("wgc")
PRIOR_DOCS = 50
POSTING_CAP = 100  # most recent incidents kept per feature
SEARCH_FEATURES = 32  # rarest query features walked to find candidates
SHORTLIST = 30  # candidates scored exactly


def candidate_id(ticket_ids: Iterable[str]) -> str:
    """Derived from the sorted member ids: the same in every process and after a restart."""
    digest = hashlib.sha256("\x1f".join(sorted(ticket_ids)).encode()).hexdigest()
    return f"pc-{digest[:20]}"


@dataclass(frozen=True)
class Candidate:
    candidate_id: str
    ticket_ids: list[str]  # oldest first
    reason: str
    score: float  # mean pairwise similarity of the members


@dataclass(eq=False)
class _Doc:
    """An indexed incident: each block of its vector weighted with the idf of the moment it
    arrived and scaled to unit length, so a cosine is a sum over shared features."""

    seq: int
    incident: IncidentText
    vector: dict[str, float]
    blocks: frozenset[str]
    problem: str | None = None  # the candidate it is a member of, or joined


def _weigh(
    seq: int, incident: IncidentText, vector: dict[str, float], df: dict[str, int], size: int
) -> _Doc:
    squares: dict[str, float] = {}
    for f, w in vector.items():
        if f[0] in IDF_BLOCKS:
            w *= math.log((size + PRIOR_DOCS) / (df.get(f, 0) + 1)) + 1.0
            vector[f] = w
        squares[f[0]] = squares.get(f[0], 0.0) + w * w
    norms = {b: math.sqrt(s) for b, s in squares.items()}
    unit = {f: w / norms[f[0]] for f, w in vector.items()}
    return _Doc(seq, incident, unit, frozenset(norms))


def _similarity(a: _Doc, b: _Doc) -> float:
    """The mean cosine of the text blocks (codes only when both have some), scaled up by
    agreeing metadata, down by a different product."""
    shared = a.vector.keys() & b.vector.keys()
    if not shared:
        return 0.0
    cos = dict.fromkeys(a.blocks & b.blocks, 0.0)
    va, vb = a.vector, b.vector
    for f in shared:
        cos[f[0]] += va[f] * vb[f]
    text = [b for b in TEXT_WEIGHTS if b in cos]
    if not text:
        return 0.0
    base = sum(TEXT_WEIGHTS[b] * cos[b] for b in text) / sum(TEXT_WEIGHTS[b] for b in text)
    factor = 1.0
    for block, (agree, differ) in METADATA.items():
        if block in cos:
            factor += agree * cos[block] + differ * (1.0 - cos[block])
    return min(1.0, base * max(factor, 0.0))


class RecurrenceIndex:
    """The incidents of the last `window`, searchable by similarity, announcing each group of at
    least `k` similar ones once.

    A group is the new incident and earlier unannounced ones of the window, taken greedily by
    their similarity to it: each must have a mean similarity of at least `threshold` to those
    already taken and none below LINK_FLOOR of it, all within one window. An incident whose
    best match is announced (a member, or one that joined), at JOIN_SHARE of the threshold,
    joins that candidate instead: `add` returns None and `joins` names the candidate. So an
    incident belongs to at most one candidate, and a known problem is not announced again
    while its incidents are in the window.
    """

    def __init__(
        self, k: int = K, window: timedelta = WINDOW, threshold: float = THRESHOLD
    ) -> None:
        if k < 2 or window <= timedelta() or not 0 < threshold <= 1:
            raise ValueError("k >= 2, a positive window and a threshold in (0, 1] are needed")
        self.k, self.window, self.threshold = k, window, threshold
        self._docs: dict[str, _Doc] = {}
        self._by_seq: dict[int, _Doc] = {}
        self._order: deque[_Doc] = deque()  # insertion order, the order of eviction
        self._postings: dict[str, list[int]] = {}  # feature -> recent seqs, oldest first
        self._df: dict[str, int] = {}
        self._announced: dict[str, str] = {}  # ticket id -> candidate id
        self._latest: datetime | None = None
        self._seq = 0

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, incident: IncidentText) -> Candidate | None:
        """Index the incident; the candidate it completes, if any. A repeated ticket id, or an
        incident older than the window before the newest one seen, changes nothing."""
        if incident.at.utcoffset() is None:
            raise ValueError(f"{incident.ticket_id}: the time of an incident must be tz-aware")
        if incident.ticket_id in self._docs:
            return None
        latest = max(self._latest or incident.at, incident.at)
        if incident.at < latest - self.window:
            self._announced.pop(incident.ticket_id, None)  # never indexed: keep no mark
            return None
        self._latest = latest
        self._evict(latest - self.window)
        doc = self._insert(incident)
        if doc.problem is not None:  # marked announced before it was re-added
            return None
        near = self._near(doc, self.threshold * LINK_FLOOR, within=True)
        free = [(s, d) for s, d in near if d.problem is None]
        known = [(s, d) for s, d in near if d.problem and s >= self.threshold * JOIN_SHARE]
        if known and (not free or known[0][0] >= free[0][0]):
            doc.problem = known[0][1].problem
            return None
        group = self._group(doc, free)
        if len(group) >= self.k:
            return self._announce(group)
        if known:
            doc.problem = known[0][1].problem
        return None

    def similar(self, incident: IncidentText, limit: int) -> list[tuple[str, float]]:
        """The indexed incidents most like this one (ticket id, similarity), best first."""
        probe = self._docs.get(incident.ticket_id) or self._probe(incident)
        near = self._near(probe, 1e-9, within=False)
        return [(d.incident.ticket_id, s) for s, d in near[:limit]]

    def joins(self, incident: IncidentText) -> str | None:
        """The announced candidate the incident belongs to: its own, the one it joined when
        added, or, not indexed yet, the one of its best announced match (JOIN_SHARE of the
        threshold)."""
        doc = self._docs.get(incident.ticket_id)
        if doc is not None or incident.ticket_id in self._announced:
            return doc.problem if doc else self._announced[incident.ticket_id]
        probe = self._probe(incident)
        floor = self.threshold * JOIN_SHARE
        return next((d.problem for _, d in self._near(probe, floor) if d.problem), None)

    def mark_announced(self, ticket_ids: Iterable[str]) -> str:
        """Record a candidate announced before (after a restart, before re-adding its incidents
        in time order); its members are never announced again. Returns its candidate id."""
        ids = list(ticket_ids)
        cid = candidate_id(ids)
        self.assign(ids, cid)
        return cid

    def assign(self, ticket_ids: Iterable[str], candidate: str) -> None:
        """Record that these incidents belong to a candidate named elsewhere (another
        process, or before a restart), whether indexed yet or not: they are never announced
        again, and incidents resembling them join that candidate."""
        for ticket_id in ticket_ids:
            self._announced[ticket_id] = candidate
            doc = self._docs.get(ticket_id)
            if doc is not None:
                doc.problem = candidate

    def _probe(self, incident: IncidentText) -> _Doc:
        return _weigh(0, incident, features(incident), self._df, len(self._docs))

    def _insert(self, incident: IncidentText) -> _Doc:
        self._seq += 1
        vector = features(incident)
        counted = [f for f in vector if f[0] in IDF_BLOCKS]
        for f in counted:
            self._df[f] = self._df.get(f, 0) + 1
        doc = _weigh(self._seq, incident, vector, self._df, len(self._docs) + 1)
        marked = self._announced.get(incident.ticket_id)
        if marked is not None:
            doc.problem = marked
        self._docs[incident.ticket_id] = self._by_seq[doc.seq] = doc
        self._order.append(doc)
        for f in counted:
            posting = self._postings.setdefault(f, [])
            posting.append(doc.seq)
            if len(posting) > POSTING_CAP:
                del posting[0]
        return doc

    def _evict(self, horizon: datetime) -> None:
        while self._order and self._order[0].incident.at < horizon:
            doc = self._order.popleft()
            del self._docs[doc.incident.ticket_id], self._by_seq[doc.seq]
            self._announced.pop(doc.incident.ticket_id, None)
            for f in doc.vector:
                if f[0] not in IDF_BLOCKS:
                    continue
                if self._df[f] == 1:
                    del self._df[f]
                else:
                    self._df[f] -= 1
                posting = self._postings.get(f)
                # evicted in insertion order: if still listed, it is the oldest entry
                if posting and posting[0] == doc.seq:
                    del posting[0]
                if not posting:
                    self._postings.pop(f, None)

    def _near(self, doc: _Doc, floor: float, within: bool = True) -> list[tuple[float, _Doc]]:
        """Indexed incidents with a similarity of at least `floor`, best first (the rarest
        shared features find the shortlist, which is then scored exactly)."""
        shared = 2 if doc.seq else 1  # an indexed incident counts itself
        ranked = heapq.nlargest(
            SEARCH_FEATURES,
            (f for f in doc.vector if f[0] in IDF_BLOCKS and self._df.get(f, 0) >= shared),
            key=doc.vector.__getitem__,
        )
        hits: dict[int, float] = {}
        for f in ranked:
            weight = doc.vector[f]
            for seq in self._postings.get(f, ()):
                hits[seq] = hits.get(seq, 0.0) + weight
        hits.pop(doc.seq, None)
        found = []
        for seq in heapq.nlargest(SHORTLIST, hits, key=hits.__getitem__):
            other = self._by_seq[seq]
            if other.incident.ticket_id == doc.incident.ticket_id:
                continue
            if within and abs(other.incident.at - doc.incident.at) > self.window:
                continue
            score = _similarity(doc, other)
            if score >= floor:
                found.append((score, other))
        found.sort(key=lambda pair: (-pair[0], pair[1].seq))
        return found

    def _group(self, doc: _Doc, free: list[tuple[float, _Doc]]) -> list[_Doc]:
        group = [doc]
        floor = self.threshold * LINK_FLOOR
        for score, other in free:
            links = [score, *(_similarity(other, g) for g in group[1:])]
            times = [g.incident.at for g in (*group, other)]
            if (
                sum(links) / len(links) >= self.threshold
                and min(links) >= floor
                and max(times) - min(times) <= self.window
            ):
                group.append(other)
        return group

    def _announce(self, group: list[_Doc]) -> Candidate:
        members = sorted(group, key=lambda d: (d.incident.at, d.incident.ticket_id))
        ids = [d.incident.ticket_id for d in members]
        cid = candidate_id(ids)
        for d in members:
            d.problem = cid
            self._announced[d.incident.ticket_id] = cid
        pairs = [_similarity(a, b) for i, a in enumerate(members) for b in members[i + 1 :]]
        return Candidate(cid, ids, _reason(members), sum(pairs) / len(pairs))


def _reason(members: list[_Doc]) -> str:
    n = len(members)
    need = max(2, math.ceil(n / 2))
    span = members[-1].incident.at - members[0].incident.at
    parts = [f"{n} similar incidents in {_duration(span)}"]
    products = Counter(d.incident.product.strip() for d in members if d.incident.product)
    product, count = products.most_common(1)[0] if products else ("", 0)
    if count >= need:
        versions = Counter(
            d.incident.version.strip()
            for d in members
            if d.incident.version and (d.incident.product or "").strip() == product
        )
        version, seen = versions.most_common(1)[0] if versions else ("", 0)
        label = f"{product} {version}" if seen >= need else product
        parts.append(f"product {label} ({count} of {n})")
    assets = Counter(d.incident.asset.strip() for d in members if d.incident.asset)
    if assets and assets.most_common(1)[0][1] >= need:
        asset, count = assets.most_common(1)[0]
        parts.append(f"asset {asset} ({count} of {n})")
    terms = Counter(f for d in members for f in d.vector if f[0] in "wc")
    weight = {f: max(d.vector.get(f, 0.0) for d in members) for f in terms}
    skip = key(product)
    common = [f for f, c in terms.items() if c >= need and f[2:] not in skip]
    common.sort(key=lambda f: (-terms[f], -weight[f], f))
    if common:
        spelt = spellings(d.incident.text for d in members)
        parts.append("shared terms: " + ", ".join(spelt.get(f[2:], f[2:]) for f in common[:6]))
    orgs = {d.incident.organization_id for d in members if d.incident.organization_id}
    if len(orgs) > 1:
        parts.append(f"from {len(orgs)} organisations")
    return "; ".join(parts)


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
