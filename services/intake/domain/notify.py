"""Outbound notifications, pure: what we tell the customer, and when to try again."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from pydantic import BaseModel, Field

NOTIFICATION_HEADER = "X-Switchboard-Notification"


class Notification(BaseModel):
    id: str
    ticket_id: str
    number: str
    kind: str = Field(description="acknowledgement, reply, resolved, reopened, sla_breach, ...")
    recipient: str
    subject: str
    body: str
    message_id: str = Field(description="Our RFC 5322 Message-ID, without angle brackets")
    in_reply_to: str | None = None
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


def acknowledgement(
    ticket_id: str,
    number: str,
    subject: str,
    recipient: str,
    in_reply_to: str | None,
    domain: str,
    now: datetime,
) -> Notification:
    """The receipt seed 004 asks for: the customer learns the number at once."""
    body = (
        f"Hello,\n\nwe have received your request and registered it as {number}.\n"
        f"Subject: {subject}\n\nPlease keep [{number}] in the subject when you write to us about "
        "it; replies to this message join the ticket.\n\nYour support team\n"
    )
    return Notification(
        id=f"ack-{ticket_id}",
        ticket_id=ticket_id,
        number=number,
        kind="acknowledgement",
        recipient=recipient,
        subject=f"[{number}] Received: {subject}"[:300],
        body=body,
        message_id=f"ack-{ticket_id}@{domain}",
        in_reply_to=in_reply_to,
        created_at=now,
    )


def next_attempt(attempts: int, now: datetime, backoff_seconds: float) -> datetime:
    """Exponential backoff after `attempts` failed tries."""
    return now + timedelta(seconds=backoff_seconds * 2 ** max(0, attempts - 1))


def to_email(note: Notification, sender: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = note.recipient
    msg["Subject"] = note.subject
    msg["Message-ID"] = f"<{note.message_id}>"
    msg["Date"] = format_datetime(now)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer it
    msg[NOTIFICATION_HEADER] = note.kind
    if note.in_reply_to:
        msg["In-Reply-To"] = f"<{note.in_reply_to}>"
        msg["References"] = f"<{note.in_reply_to}>"
    msg.set_content(note.body)
    return msg
