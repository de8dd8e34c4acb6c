"""Versioned documents on the real store: compare-and-set on the revision, with the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from shared.db import Database
from shared.versioned import Versioned

pytestmark = pytest.mark.integration


class Note(BaseModel):
    text: str
    seen: list[str] = []
    revision: int = 0


@pytest.fixture
async def db(isolated: Any) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}versioned"]
    await client.close()


async def test_a_writer_deciding_from_an_old_revision_loses_and_the_state_stays(
    db: Database,
) -> None:
    notes: Versioned[Note] = Versioned(db, "notes", Note, service="tests")
    assert await notes.insert("n-1", Note(text="a"), [])
    assert not await notes.insert("n-1", Note(text="again"), [])
    assert await notes.save("n-1", 0, Note(text="b"), [])
    assert not await notes.save("n-1", 0, Note(text="c"), [])  # a writer from revision 0 lost
    assert await notes.save("n-1", 1, Note(text="d"), [])
    current = await notes.get("n-1")
    assert current is not None and (current.text, current.revision) == ("d", 2)
    assert await notes.get("n-2") is None


async def test_racing_writers_each_land_once_after_deciding_again(db: Database) -> None:
    notes: Versioned[Note] = Versioned(db, "notes", Note, service="tests")
    assert await notes.insert("n-1", Note(text="a"), [])

    async def append(word: str) -> None:
        while True:
            note = await notes.get("n-1")
            assert note is not None
            after = note.model_copy(update={"seen": [*note.seen, word]})
            if await notes.save("n-1", note.revision, after, []):
                return

    words = [f"w{n}" for n in range(24)]
    await asyncio.gather(*(append(w) for w in words))
    note = await notes.get("n-1")
    assert note is not None
    assert sorted(note.seen) == sorted(words) and note.revision == len(words)
