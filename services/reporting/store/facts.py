"""A fact document a ticket (facts.FactDocument, written by compare-and-set on its revision),
found by period through its access path (fact_index.py), and the sites tickets came from.

A report's period read costs what the period holds, not what history holds: the ids come from
the hour buckets of the period (or the live set of facts never closed), the facts by `_id` in
batches, and each is checked against the spans here (an hour partly outside the period, an id a
crash left dangling). On MongoDB the `fact.<time>` indexes (store/__init__.py) stay declared for
ad-hoc queries; the store itself reads facts by `_id` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pymongo.errors import OperationFailure

from shared.db import Database, is_duplicate
from shared.versioned import Versioned

from .. import metrics
from ..facts import Fact, FactDocument
from ..periods import INDEXED, NEVER_UNSET, OPEN, entries, served
from ..reads import Span, selects
from .fact_index import MongoFactIndex

FACTS = "facts"  # "<ticket id>" -> the ticket's fact document (facts.FactDocument)
SITES = "sites"  # '["<organisation>", "<site>"]' -> a site tickets came from (small)
FACTS_PER_READ = 500
"""Fact ids per `$in` query."""


class MongoFactStore:
    def __init__(self, db: Database) -> None:
        self._facts = db[FACTS]
        self._docs: Versioned[FactDocument] = Versioned(
            db, FACTS, FactDocument, service="reporting"
        )
        self._index = MongoFactIndex(db)
        self._sites = db[SITES]

    async def start(self) -> None:
        """Index the facts of a database from before the access path (once per database)."""
        times = {f"fact.{field}": 1 for field in INDEXED}
        await self._index.fill(self._facts.find({}, times))

    async def get(self, ticket_id: str) -> FactDocument | None:
        return await self._docs.get(ticket_id)

    async def put(self, ticket_id: str, before: FactDocument | None, after: FactDocument) -> bool:
        """Write `after` if the document is still as `before` was read (None: not there yet);
        False when another writer came first. The fact's new entries are listed before the
        write, its old ones unlisted after it."""
        old = entries(before.fact if before is not None else None)
        new = entries(after.fact)
        await self._index.add(ticket_id, new - old)
        if before is None:
            written = await self._docs.insert(ticket_id, after, [])
        else:
            written = await self._docs.save(ticket_id, before.revision, after, [])
        if written:
            await self._index.remove(ticket_id, old - new)
        elif OPEN in new - old:
            await self._closed_meanwhile(ticket_id)
        return written

    async def _closed_meanwhile(self, ticket_id: str) -> None:
        """The writer that came first may have closed the fact: then this attempt's entry in
        the live set is wrong for good (closed_at is never unset) and must not stay."""
        winner = await self._docs.get(ticket_id)
        if winner is not None and winner.fact.get(NEVER_UNSET) is not None:
            await self._index.remove(ticket_id, [OPEN])

    async def within(self, spans: Sequence[Span]) -> list[Fact]:
        """The facts the spans select (reads.selects), read through the period's buckets."""
        unserved = [span for span in spans if not served(span)]
        if unserved:
            raise ValueError(f"no access path for {unserved}")
        ids = await self._index.ids(spans)
        return [fact for fact in await self.of_tickets(sorted(ids)) if selects(spans, fact)]

    async def of_tickets(self, ticket_ids: Sequence[str]) -> list[Fact]:
        """The facts of these tickets (those there are), by `_id` in batches."""
        ids = list(ticket_ids)
        facts: list[Fact] = []
        for first in range(0, len(ids), FACTS_PER_READ):
            query = {"_id": {"$in": ids[first : first + FACTS_PER_READ]}}
            docs = await self._facts.find(query, {"fact": 1}).to_list(None)
            facts += [{"ticket_id": d["_id"], **d["fact"]} for d in docs]
        metrics.FACTS_READ.inc(len(facts))
        return sorted(facts, key=lambda f: str(f["ticket_id"]))

    async def add_site(self, organization_id: str, site: str) -> None:
        key = json.dumps([organization_id, site])
        fields = {"organization_id": organization_id, "site": site}
        try:
            await self._sites.update_one({"_id": key}, {"$setOnInsert": fields}, upsert=True)
        except OperationFailure as exc:
            if not is_duplicate(exc):  # a duplicate: another writer kept the same site first
                raise

    async def sites(self) -> list[tuple[str, str]]:
        docs = await self._sites.find({}).to_list(None)
        return sorted((d["organization_id"], d["site"]) for d in docs)
