"""Known errors and solution articles (seed 000 step 2b: check the database for related problems
and possible solutions; seed 001: failed attempted solutions are recorded), and their ranked
full-text search.

Search is BM25 over accent-folded word tokens, each also indexed by its first five letters, so
"printers" finds "printer" and "drukarki" finds "drukarka" without a stemmer per language.
The title counts double.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import FieldInvalid
from shared.records import patched
from shared.strict import Trimmed

from .text import tokens


class KnowledgeKind(StrEnum):
    KNOWN_ERROR = "known_error"
    ARTICLE = "article"


class Attempt(BaseModel):
    """A solution tried that did not help (seed 001)."""

    what: str
    by: str
    at: datetime
    ticket_id: str | None = None


class Knowledge(BaseModel):
    """A known error (symptoms, workaround, fix; from a problem) or a solution article."""

    id: str
    kind: KnowledgeKind
    title: str
    symptoms: str = ""
    workaround: str = ""
    fix: str = ""
    body: str = ""
    problem_id: str | None = None
    products: list[str] = Field(default_factory=list)
    status: Literal["published", "retired"] = "published"
    failed_attempts: list[Attempt] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    revision: int = 0

    def text(self) -> str:
        return " ".join(
            [self.symptoms, self.workaround, self.fix, self.body, " ".join(self.products)]
        )


class KnowledgeRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    symptoms: str = Field(default="", max_length=20_000)
    workaround: str = Field(default="", max_length=20_000)
    fix: str = Field(default="", max_length=20_000)
    body: str = Field(default="", max_length=100_000, description="An article's text")
    problem_id: str | None = Field(default=None, max_length=100)
    products: list[str] = Field(default_factory=list, max_length=20)


class KnowledgeEdit(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    symptoms: str | None = Field(default=None, max_length=20_000)
    workaround: str | None = Field(default=None, max_length=20_000)
    fix: str | None = Field(default=None, max_length=20_000)
    body: str | None = Field(default=None, max_length=100_000)
    products: list[str] | None = Field(default=None, max_length=20)
    status: Literal["published", "retired"] | None = None


class AttemptRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    what: str = Field(min_length=1, max_length=5_000, description="What was tried")
    ticket_id: str | None = Field(default=None, max_length=100)


def create(
    item_id: str, kind: KnowledgeKind, request: KnowledgeRequest, now: datetime
) -> Knowledge:
    return Knowledge(id=item_id, kind=kind, **request.model_dump(), created_at=now, updated_at=now)


TEXTS = frozenset({"workaround", "fix", "body"})


def complete(kind: KnowledgeKind, workaround: str, fix: str, body: str) -> None:
    """A known error needs a workaround or a fix; an article needs its text."""
    if kind is KnowledgeKind.KNOWN_ERROR and not workaround and not fix:
        raise FieldInvalid("workaround", "a known error needs a workaround or a fix")
    if kind is KnowledgeKind.ARTICLE and not (body or workaround or fix):
        raise FieldInvalid("body", "an article needs its text")


def texts_kept(item: Knowledge) -> None:
    complete(item.kind, item.workaround, item.fix, item.body)


def edited(item: Knowledge, change: KnowledgeEdit, now: datetime) -> Knowledge:
    """The item with the fields given, validated whole: an explicit null is refused (no field
    of an item may be empty), and an edit of its texts leaves it what it needs."""
    fields = change.model_dump(exclude_unset=True)
    after = patched(item, {**fields, "updated_at": now})
    if fields.keys() & TEXTS:
        texts_kept(after)
    return after


def attempted(item: Knowledge, request: AttemptRequest, by: str, now: datetime) -> Knowledge:
    attempt = Attempt(what=request.what, by=by, at=now, ticket_id=request.ticket_id)
    return item.model_copy(
        update={"failed_attempts": [*item.failed_attempts, attempt], "updated_at": now}
    )


PREFIX = 5
K1, B = 1.2, 0.75


def terms(text: str) -> list[str]:
    """A text's search terms: each word, and its first five letters when longer."""
    found = []
    for token in tokens(text):
        found.append(token)
        if len(token) > PREFIX:
            found.append(token[:PREFIX] + "*")
    return found


class Hit(BaseModel):
    item: Knowledge
    score: float = Field(description="Relative relevance, 0..1 (1 for the best hit)")
    coverage: float = Field(
        description="Share of the item's title and symptoms (by weight) found in the query"
    )


def search(items: list[Knowledge], query: str, limit: int) -> list[Hit]:
    """The published items ranked by BM25 for the query, best first."""
    wanted = set(terms(query))
    live = [i for i in items if i.status == "published"]
    if not wanted or not live:
        return []
    bags = [Counter(terms(i.title) * 2 + terms(i.text())) for i in live]
    average = sum(sum(b.values()) for b in bags) / len(bags)
    frequency = Counter(t for b in bags for t in set(b) if t in wanted)
    every = Counter(t for b in bags for t in set(b))

    def idf(term: str) -> float:
        n = every.get(term, 0) if term not in frequency else frequency[term]
        return math.log(1 + (len(bags) - n + 0.5) / (n + 0.5))

    scored = []
    for item, bag in zip(live, bags, strict=True):
        length = sum(bag.values())
        score = 0.0
        for term in wanted & set(bag):
            tf = bag[term]
            score += idf(term) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        if score > 0:
            own = set(terms(item.title + " " + item.symptoms))
            weight = sum(idf(t) for t in own) or 1.0
            coverage = sum(idf(t) for t in own & wanted) / weight
            scored.append((score, coverage, item))
    scored.sort(key=lambda s: (-s[0], s[2].id))
    if not scored:
        return []
    best = scored[0][0]
    return [
        Hit(item=i, score=round(s / best, 4), coverage=round(c, 4)) for s, c, i in scored[:limit]
    ]
