"""The console's own database: accounts, sessions, failed sign-ins, and which organisation each
ticket belongs to (learnt from ticket.created, or asked of intake once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, Document, without_id
from shared.runtime import IndexSpec

from .domain import Account, Session

ACCOUNTS = "accounts"  # _id: the username, lower-cased
SESSIONS = "sessions"  # _id: the sha-256 of the cookie's session id
LOGIN_FAILURES = "login_failures"  # one document per failed sign-in and counter key
TICKET_ORGS = "ticket_orgs"  # _id: the ticket id -> its organisation (None: no organisation)

INDEXES: list[IndexSpec] = [
    (SESSIONS, [("expires_at", ASCENDING)], False),  # the expiry sweep
    (LOGIN_FAILURES, [("key", ASCENDING), ("at", ASCENDING)], False),
    (LOGIN_FAILURES, [("at", ASCENDING)], False),  # the sweep of old failures
]


class ConsoleStore(Protocol):
    async def add_account(self, account: Account) -> bool: ...
    async def get_account(self, username: str) -> Account | None: ...
    async def set_password(self, username: str, password_hash: str) -> bool: ...
    async def add_session(self, session: Session) -> None: ...
    async def get_session(self, digest: str) -> Session | None: ...
    async def end_session(self, digest: str) -> None: ...
    async def end_expired_sessions(self, now: datetime) -> int: ...
    async def record_failure(self, keys: tuple[str, ...], at: datetime) -> None: ...
    async def failures_since(self, key: str, since: datetime) -> tuple[int, datetime | None]: ...
    async def clear_failures(self, key: str) -> None: ...
    async def forget_failures_before(self, before: datetime) -> int: ...
    async def remember_org(self, ticket_id: str, organization_id: str | None) -> None: ...
    async def org_of(self, ticket_id: str) -> tuple[bool, str | None]: ...


class MongoConsoleStore:
    def __init__(self, db: Database) -> None:
        self._accounts = db[ACCOUNTS]
        self._sessions = db[SESSIONS]
        self._failures = db[LOGIN_FAILURES]
        self._orgs = db[TICKET_ORGS]

    async def add_account(self, account: Account) -> bool:
        """False when the username is taken."""
        try:
            await self._accounts.insert_one(
                {"_id": account.username.lower(), **account.model_dump(mode="python")}
            )
        except DuplicateKeyError:
            return False
        return True

    async def get_account(self, username: str) -> Account | None:
        doc = await self._accounts.find_one({"_id": username.strip().lower()})
        return Account.model_validate(without_id(doc)) if doc else None

    async def set_password(self, username: str, password_hash: str) -> bool:
        done = await self._accounts.update_one(
            {"_id": username.lower()}, {"$set": {"password_hash": password_hash}}
        )
        return done.matched_count == 1

    async def add_session(self, session: Session) -> None:
        await self._sessions.insert_one(
            {
                "_id": session.digest,
                "username": session.username,
                "csrf": session.csrf,
                "created_at": session.created_at,
                "expires_at": session.expires_at,
            }
        )

    async def get_session(self, digest: str) -> Session | None:
        doc = await self._sessions.find_one({"_id": digest})
        if doc is None:
            return None
        return Session(
            digest=doc["_id"],
            username=doc["username"],
            csrf=doc["csrf"],
            created_at=doc["created_at"],
            expires_at=doc["expires_at"],
        )

    async def end_session(self, digest: str) -> None:
        await self._sessions.delete_one({"_id": digest})

    async def end_expired_sessions(self, now: datetime) -> int:
        done = await self._sessions.delete_many({"expires_at": {"$lte": now}})
        return done.deleted_count

    async def record_failure(self, keys: tuple[str, ...], at: datetime) -> None:
        docs: list[Document] = [{"_id": uuid.uuid4().hex, "key": k, "at": at} for k in keys]
        await self._failures.insert_many(docs)

    async def failures_since(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures of the key lie in the window, and when the oldest of them was."""
        query = {"key": key, "at": {"$gt": since}}
        count = await self._failures.count_documents(query)
        if not count:
            return 0, None
        oldest = await self._failures.find(query).sort("at", ASCENDING).limit(1).to_list(1)
        return count, oldest[0]["at"] if oldest else None

    async def clear_failures(self, key: str) -> None:
        await self._failures.delete_many({"key": key})

    async def forget_failures_before(self, before: datetime) -> int:
        done = await self._failures.delete_many({"at": {"$lte": before}})
        return done.deleted_count

    async def remember_org(self, ticket_id: str, organization_id: str | None) -> None:
        await self._orgs.replace_one(
            {"_id": ticket_id}, {"_id": ticket_id, "org": organization_id}, upsert=True
        )

    async def org_of(self, ticket_id: str) -> tuple[bool, str | None]:
        """(known, organisation): whether the ticket is in the map, and its organisation."""
        doc = await self._orgs.find_one({"_id": ticket_id})
        return (doc is not None, doc.get("org") if doc else None)
