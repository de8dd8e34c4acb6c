"""Revisioned documents on the real FerretDB: claims of revisions, and their purge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from pymongo import AsyncMongoClient

from shared.db import Database
from shared.revisions import Revisioned

pytestmark = pytest.mark.integration


class Note(BaseModel):
    text: str
    revision: int = 0


@pytest.fixture
async def db(isolated: Any) -> AsyncIterator[Database]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated.infra.mongodb_uri, tz_aware=True
    )
    yield client[f"{isolated.db_prefix}revisions"]
    await client.close()


async def test_claims_older_than_asked_are_purged_and_writing_goes_on(db: Database) -> None:
    notes: Revisioned[Note] = Revisioned(db, "notes", Note, parts=4)
    assert await notes.insert("n-1", Note(text="a"), [])
    assert await notes.save("n-1", 0, Note(text="b"), [])
    assert not await notes.save("n-1", 0, Note(text="c"), [])  # a writer from revision 0 lost
    assert await notes.save("n-1", 1, Note(text="d"), [])
    assert await notes.purge() == 0  # kept for a day
    assert await notes.purge(older_than=timedelta(0)) == 2
    assert await notes.save("n-1", 2, Note(text="e"), [])
    current = await notes.get("n-1")
    assert current is not None and (current.text, current.revision) == ("e", 3)
    assert await notes.recover() == 0
