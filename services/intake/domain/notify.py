"""Outbound notifications, pure: what we tell the customer, and when to try again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, MessageIDHeader
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, Field

from shared.events.intake import TicketCreatedData

from .replies import our_message_id, reply_address

NOTIFICATION_HEADER = "X-Switchboard-Notification"


class Notification(BaseModel):
    id: str
    ticket_id: str | None = Field(default=None, description="The ticket it is about, if one")
    number: str | None = None
    advisory_id: str | None = Field(default=None, description="The advisory it carries, if one")
    kind: str = Field(
        description="acknowledgement, reply, resolved, reopened, sla_breach, advisory"
    )
    language: str = Field(default="en", description="Language it was written in")
    recipient: str
    subject: str
    body: str
    message_id: str = Field(description="Our RFC 5322 Message-ID, without angle brackets")
    in_reply_to: str | None = None
    reply_token: str | None = Field(
        default=None, description="The ticket's reply token, in Reply-To and the Message-ID"
    )
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


LANGUAGES = ("en", "ru", "pl", "sv")
"""Languages we write to customers in (our seeds' customers); anything else gets English."""
KINDS = (
    "acknowledgement",
    "reply",
    "resolved",
    "reopened",
    "sla_breach",
    "advisory",
    "fix_released",
)
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # plain-text mail, never HTML
    keep_trailing_newline=True,
)
TARGET_LABELS = {
    "en": {"first_response": "first response", "next_update": "update", "resolution": "resolution"},
    "ru": {
        "first_response": "первого ответа",
        "next_update": "обновления",
        "resolution": "решения",
    },
    "pl": {
        "first_response": "pierwszej odpowiedzi",
        "next_update": "aktualizacji",
        "resolution": "rozwiązania",
    },
    "sv": {"first_response": "första svar", "next_update": "uppdatering", "resolution": "lösning"},
}


def language_of(stated: str | None, text: str) -> str:
    """The stated language if we write it, else a guess from the script and letters, else en."""
    if stated and stated.lower()[:2] in LANGUAGES:
        return stated.lower()[:2]
    if re.search(r"[а-яёА-ЯЁ]", text):
        return "ru"
    if re.search(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]", text):
        return "pl"
    if re.search(r"[åÅ]", text) or re.search(r"[äöÄÖ]", text) and not re.search(r"[üßÜ]", text):
        return "sv"
    return "en"


@dataclass(frozen=True)
class Recipient:
    """Who a notification goes to, and the ticket it is about (advisories have none)."""

    email: str
    name: str | None
    language: str
    ticket_id: str | None = None
    number: str | None = None
    subject: str = ""

    @classmethod
    def of(cls, details: TicketCreatedData) -> Recipient:
        """The ticket's requester, in the language chosen when the ticket was recorded."""
        return cls(
            ticket_id=details.ticket_id,
            number=details.number,
            subject=details.subject,
            email=details.requester.email or "",
            name=details.requester.name,
            language=details.language or "en",
        )


def compose(
    note_id: str,
    kind: str,
    to: Recipient,
    context: dict[str, Any],
    in_reply_to: str | None,
    domain: str,
    now: datetime,
    advisory_id: str | None = None,
    token: str | None = None,
) -> Notification:
    """A notification rendered from templates/<language>/<kind>.txt ("Subject: ..." first);
    with the ticket's reply token (domain/replies.py) in its Message-ID and Reply-To."""
    lang = to.language if to.language in LANGUAGES else "en"
    values = {"number": to.number, "subject": to.subject, "name": to.name, **context}
    if "target" in values:
        values["target"] = TARGET_LABELS[lang].get(values["target"], values["target"])
    text = TEMPLATES.get_template(f"{lang}/{kind}.txt").render(values)
    head, _, body = text.partition("\n\n")
    subject = head.removeprefix("Subject: ").strip()
    return Notification(
        id=note_id,
        ticket_id=to.ticket_id,
        number=to.number,
        advisory_id=advisory_id,
        kind=kind,
        language=lang,
        recipient=to.email,
        subject=" ".join(subject.split())[:300],
        body=body,
        message_id=our_message_id(note_id, token, domain),
        in_reply_to=in_reply_to,
        reply_token=token,
        created_at=now,
    )


def next_attempt(attempts: int, now: datetime, backoff_seconds: float) -> datetime:
    """Exponential backoff after `attempts` failed tries."""
    return now + timedelta(seconds=backoff_seconds * 2 ** max(0, attempts - 1))


def _thread_headers() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in ("in-reply-to", "references"):
        registry.map_to_type(name, cast(type[BaseHeader], MessageIDHeader))  # typeshed: no base
    return registry


OUTBOUND = policy.default.clone(header_factory=_thread_headers())
"""policy.default, but In-Reply-To and References are written as Message-IDs are: whole, on
one line, never as encoded words (which no mail client would thread by)."""


def to_email(note: Notification, sender: str, now: datetime) -> EmailMessage:
    msg = EmailMessage(policy=OUTBOUND)
    msg["From"] = sender
    msg["To"] = note.recipient
    msg["Subject"] = note.subject
    if note.reply_token:
        msg["Reply-To"] = reply_address(sender, note.reply_token)
    msg["Message-ID"] = f"<{note.message_id}>"
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer it
    msg[NOTIFICATION_HEADER] = note.kind
    if note.in_reply_to:
        msg["In-Reply-To"] = f"<{note.in_reply_to}>"
        msg["References"] = f"<{note.in_reply_to}>"
    msg.set_content(note.body)
    return msg
