"""The console's rules: accounts and personas, sessions, the sign-in limit, what a viewer may
see of the event stream, and how an SLA target's remaining time reads. Pure: `now` is passed in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

LANGUAGES = ("en", "ru", "pl", "sv")


class Persona(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    CUSTOMER = "customer"


class Account(BaseModel):
    """A person who signs in to the console. Staff map to a triage agent (agent_id), customers
    to an intake contact (organization_id and email)."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$")
    password_hash: str = Field(min_length=1, max_length=500, description="Argon2id, PHC string")
    persona: Persona
    name: str = Field(default="", max_length=200)
    agent_id: str | None = Field(default=None, min_length=1, max_length=100)
    organization_id: str | None = Field(default=None, min_length=1, max_length=100)
    email: EmailStr | None = None
    language: str = Field(default="en", pattern="^(en|ru|pl|sv)$")
    created_at: datetime

    @model_validator(mode="after")
    def _mapped(self) -> Account:
        if self.persona is Persona.CUSTOMER:
            if not (self.organization_id and self.email):
                raise ValueError("a customer account needs organization_id and email")
            if self.agent_id:
                raise ValueError("a customer account has no agent_id")
        elif not self.agent_id:
            raise ValueError("a staff account needs agent_id (its triage agent)")
        elif self.organization_id:
            raise ValueError("a staff account has no organization_id")
        return self

    @property
    def is_staff(self) -> bool:
        return self.persona is not Persona.CUSTOMER

    def claims(self) -> dict[str, Any]:
        """The claims of the token the console calls the services with for this person."""
        if self.persona is Persona.CUSTOMER:
            assert self.email is not None
            return {
                "sub": self.email,
                "roles": ["customer"],
                "org": self.organization_id,
                "name": self.name or self.username,
                "email": self.email,
            }
        roles = ["agent", "supervisor"] if self.persona is Persona.SUPERVISOR else ["agent"]
        assert self.agent_id is not None
        return {
            "sub": self.agent_id,
            "roles": roles,
            "name": self.name or self.username,
            "email": self.email,
        }


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the cookie carries a random id, the store keeps only its digest."""

    digest: str
    username: str
    csrf: str
    created_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


def session_digest(session_id: str) -> str:
    """What the store keys a session by: a leaked database holds no usable cookie."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class LoginLimit:
    """At most `attempts` failed sign-ins per username and per client address within `window`."""

    attempts: int = 5
    window: timedelta = timedelta(minutes=15)

    def since(self, now: datetime) -> datetime:
        return now - self.window

    def blocked(self, failures: int) -> bool:
        return failures >= self.attempts

    def retry_after(self, oldest: datetime | None, now: datetime) -> int:
        """Whole seconds until the oldest counted failure leaves the window (at least 1)."""
        if oldest is None:
            return 1
        return max(1, int((oldest + self.window - now).total_seconds()) + 1)


def limit_keys(username: str, address: str) -> tuple[str, str]:
    """The counters a failed sign-in adds to: its username (case-blind) and its address."""
    return f"user:{username.strip().lower()}", f"addr:{address}"


@dataclass(frozen=True)
class Viewer:
    """Who a live stream is for: staff see every ticket event, a customer its organisation's."""

    staff: bool
    organization_id: str | None = None


CUSTOMER_EVENTS = frozenset(
    {
        "ticket.created",
        "ticket.message_added",
        "ticket.customer_replied",
        "ticket.status_changed",
        "ticket.resolved",
        "ticket.reopened",
        "ticket.closed",
        "ticket.feedback_received",
    }
)


@dataclass(frozen=True)
class LiveEvent:
    """What the console tells a browser of one event (no content: the page fetches that)."""

    id: str
    type: str
    ticket_id: str | None
    number: str | None
    internal: bool = False
    """A message only staff see (an internal note)."""


def may_see(viewer: Viewer, event: LiveEvent, ticket_org: str | None) -> bool:
    """Staff see everything; a customer sees the customer-facing events of its organisation's
    tickets, never an internal note, never an event of a ticket whose organisation is unknown."""
    if viewer.staff:
        return True
    if event.ticket_id is None or event.type not in CUSTOMER_EVENTS or event.internal:
        return False
    return ticket_org is not None and ticket_org == viewer.organization_id


def remaining(seconds: int) -> str:
    """A target's remaining business time as people read it: 2 d 3 h, 3 h 05 min, 12 min."""
    if seconds <= 0:
        return "due"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{max(minutes, 1)} min"


def due_mark(due_at: datetime | None, now: datetime, warn: timedelta = timedelta(hours=1)) -> str:
    """breached, at-risk (due within `warn`) or '' for a worklist row."""
    if due_at is None:
        return ""
    if due_at <= now:
        return "breached"
    return "at-risk" if due_at - now <= warn else ""
