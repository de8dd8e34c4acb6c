"""The console's use cases: accounts, signing in and out, the token a person calls the services
with, and the live feed from the event stream to each connected browser."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.auth import issue_token
from shared.clock import Clock
from shared.errors import Conflict, DomainError
from shared.events import Event

from . import metrics
from .backends import BackendError, Backends
from .domain import (
    Account,
    LiveEvent,
    LoginLimit,
    Persona,
    Session,
    Viewer,
    limit_keys,
    may_see,
    session_digest,
)
from .store import ConsoleStore

log = logging.getLogger(__name__)
TOKEN_SECONDS = 300
"""A minted token lives for a few minutes: one page's calls, never the whole session."""


@dataclass
class ConsoleDeps:
    store: ConsoleStore
    backends: Backends
    clock: Clock
    jwt_secret: str
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    limit: LoginLimit = field(default_factory=LoginLimit)
    session_hours: float = 8.0
    hub: Hub = field(default_factory=lambda: Hub())
    dummy_hash: str = ""
    loops: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a sign-in for an unknown user costs as much as one for a known user
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(DomainError):
    status = 401
    title = "Sign-in refused"


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many failed sign-ins"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {max(1, retry_after // 60)} min")
        self.retry_after = retry_after


async def hash_password(password: str, deps: ConsoleDeps) -> str:
    return await asyncio.to_thread(deps.hasher.hash, password)


async def add_account(
    *,
    username: str,
    password: str,
    persona: Persona,
    deps: ConsoleDeps,
    name: str = "",
    agent_id: str | None = None,
    organization_id: str | None = None,
    email: str | None = None,
    language: str = "en",
) -> Account:
    if len(password) < 8:
        raise DomainError("a password has at least 8 characters")
    account = Account.model_validate(
        {
            "username": username,
            "password_hash": await hash_password(password, deps),
            "persona": persona,
            "name": name,
            "agent_id": agent_id,
            "organization_id": organization_id,
            "email": email,
            "language": language,
            "created_at": deps.clock.now(),
        }
    )
    if not await deps.store.add_account(account):
        raise Conflict(f"the username {username} is taken")
    return account


async def _verify(password_hash: str, password: str, deps: ConsoleDeps) -> bool:
    try:
        return await asyncio.to_thread(deps.hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def sign_in(
    username: str, password: str, address: str, deps: ConsoleDeps
) -> tuple[str, Session]:
    """A new session (its cookie value and record), or SignInRefused / TooManyAttempts. The
    limit is checked before the password, so a blocked guesser learns nothing more."""
    now = deps.clock.now()
    keys = limit_keys(username, address)
    for key in keys:
        failures, oldest = await deps.store.failures_since(key, deps.limit.since(now))
        if deps.limit.blocked(failures):
            metrics.SIGN_INS.labels("limited").inc()
            raise TooManyAttempts(deps.limit.retry_after(oldest, now))
    account = await deps.store.get_account(username) if username.strip() else None
    good = await _verify(account.password_hash if account else deps.dummy_hash, password, deps)
    if account is None or not good:
        await deps.store.record_failure(keys, now)
        metrics.SIGN_INS.labels("refused").inc()
        raise SignInRefused("the username or the password is wrong")
    if deps.hasher.check_needs_rehash(account.password_hash):
        await deps.store.set_password(account.username, await hash_password(password, deps))
    await deps.store.clear_failures(keys[0])
    session_id = secrets.token_urlsafe(32)
    session = Session(
        digest=session_digest(session_id),
        username=account.username,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=deps.session_hours),
    )
    await deps.store.add_session(session)
    metrics.SIGN_INS.labels("ok").inc()
    return session_id, session


async def current(session_id: str | None, deps: ConsoleDeps) -> tuple[Session, Account] | None:
    """The live session a cookie names, with its account; None when there is none (expired,
    signed out, never issued, or its account removed)."""
    if not session_id or len(session_id) > 200:
        return None
    session = await deps.store.get_session(session_digest(session_id))
    if session is None:
        return None
    if not session.live(deps.clock.now()):
        await deps.store.end_session(session.digest)
        return None
    account = await deps.store.get_account(session.username)
    return (session, account) if account else None


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())


async def sign_out(session: Session, deps: ConsoleDeps) -> None:
    await deps.store.end_session(session.digest)


async def sweep(deps: ConsoleDeps) -> None:
    """Expired sessions and failures older than the limit's window go (no TTL indexes)."""
    now = deps.clock.now()
    await deps.store.end_expired_sessions(now)
    await deps.store.forget_failures_before(deps.limit.since(now))


def token_for(account: Account, deps: ConsoleDeps) -> str:
    """The person's token for the services' APIs, minted for a few minutes."""
    claims = account.claims()
    return issue_token(
        deps.jwt_secret,
        sub=claims["sub"],
        roles=claims["roles"],
        org=claims.get("org"),
        name=claims.get("name"),
        email=claims.get("email"),
        ttl_seconds=TOKEN_SECONDS,
    )


def _service_token(deps: ConsoleDeps) -> str:
    return issue_token(deps.jwt_secret, sub="console", roles=["service"], ttl_seconds=TOKEN_SECONDS)


class Hub:
    """The browsers connected to this process, each with a bounded queue of what it may see."""

    def __init__(self, backlog: int = 100) -> None:
        self._backlog = backlog
        self._listeners: dict[asyncio.Queue[LiveEvent], Viewer] = {}

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    @property
    def customers_listening(self) -> bool:
        return any(not v.staff for v in self._listeners.values())

    @contextlib.asynccontextmanager
    async def listen(self, viewer: Viewer) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue(self._backlog)
        self._listeners[queue] = viewer
        metrics.LIVE_LISTENERS.inc()
        try:
            yield queue
        finally:
            self._listeners.pop(queue, None)
            metrics.LIVE_LISTENERS.dec()

    def offer(self, event: LiveEvent, ticket_org: str | None) -> int:
        """Hand the event to each listener that may see it; a listener too slow to keep up
        loses events (its page re-reads on the next one). Returns how many got it."""
        given = 0
        for queue, viewer in list(self._listeners.items()):
            if may_see(viewer, event, ticket_org):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(event)
                    given += 1
        return given


def live_event(event: Event[object]) -> LiveEvent:
    data = event.data
    ticket_id = getattr(data, "ticket_id", None)
    number = getattr(data, "number", None)
    internal = str(getattr(data, "visibility", "public")) == "internal"
    return LiveEvent(event.id, event.type, ticket_id, number, internal)


async def organisation_of(ticket_id: str, deps: ConsoleDeps) -> str | None:
    """The ticket's organisation: from the map ticket.created fills, else asked of intake once
    (a ticket created before this console listened)."""
    known, org = await deps.store.org_of(ticket_id)
    if known:
        return org
    try:
        ticket = await deps.backends.ticket(_service_token(deps), ticket_id)
    except BackendError as exc:
        log.warning("the organisation of ticket %s is unknown: %s", ticket_id, exc)
        return None
    org = ticket.get("organization_id")
    await deps.store.remember_org(ticket_id, org)
    return str(org) if org else None


async def on_event(event: Event[object], deps: ConsoleDeps) -> int:
    """One event from the stream: learn a new ticket's organisation, then pass it on to the
    browsers that may see it."""
    live = live_event(event)
    org: str | None = None
    if event.type == "ticket.created" and live.ticket_id:
        org = getattr(event.data, "organization_id", None)
        await deps.store.remember_org(live.ticket_id, org)
    elif live.ticket_id and deps.hub.customers_listening:
        org = await organisation_of(live.ticket_id, deps)
    metrics.LIVE_EVENTS.labels(event.type).inc()
    return deps.hub.offer(live, org)
