"""Raw messages and attachment contents, in chunks: "<blob>" head, "<blob>#n" pieces."""

from __future__ import annotations

from typing import Protocol

from bson import Binary

from shared.db import Database, Document

BLOBS = "blobs"
BLOB_CHUNK = 255 * 1024


def attachment_blob(attachment_id: str) -> str:
    return f"attachment:{attachment_id}"


def original_blob(message_id: str) -> str:
    return f"original:{message_id}"


def held_blob(quarantine_id: str) -> str:
    return f"quarantine:{quarantine_id}"


class BlobStore(Protocol):
    async def put_blob(self, blob_id: str, data: bytes, meta: Document) -> None: ...
    async def get_blob(self, blob_id: str) -> bytes | None: ...


class MongoBlobs:
    """Bytes of any size in chunks well under a document's limit, read back by _id. The head
    is written last, so a blob without its head is an interrupted write and reads as missing."""

    def __init__(self, db: Database) -> None:
        self._blobs = db[BLOBS]

    async def put_blob(self, blob_id: str, data: bytes, meta: Document) -> None:
        pieces = range(0, len(data), BLOB_CHUNK)
        for n, start in enumerate(pieces):
            chunk = {"_id": f"{blob_id}#{n}", "data": Binary(data[start : start + BLOB_CHUNK])}
            await self._blobs.replace_one({"_id": chunk["_id"]}, chunk, upsert=True)
        head = {**meta, "_id": blob_id, "size": len(data), "chunks": len(pieces)}
        await self._blobs.replace_one({"_id": blob_id}, head, upsert=True)

    async def get_blob(self, blob_id: str) -> bytes | None:
        head = await self._blobs.find_one({"_id": blob_id})
        if head is None:
            return None
        parts = []
        for n in range(int(head["chunks"])):
            chunk = await self._blobs.find_one({"_id": f"{blob_id}#{n}"})
            if chunk is None:
                return None
            parts.append(bytes(chunk["data"]))
        return b"".join(parts)
