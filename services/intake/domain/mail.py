"""Inbound e-mail, pure: parse a raw RFC 822 message, spot loops and junk, find the ticket it
answers, and keep only the new text of a reply."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses

NUMBER_IN_SUBJECT = re.compile(r"\[(HD-\d{6,})\]", re.IGNORECASE)
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
OUT_OF_OFFICE = re.compile(
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheit|autosvar|"
    r"automatyczna odpowied|автоответ|нет на месте)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(On .{1,200} wrote:|Am .{1,200} schrieb .{1,100}:|-----\s*Original Message\s*-----|"
    r"From: .+|Från: .+|Od: .+|От: .+|"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,80}(wrote|пишет|napisał|skrev):?)\s*$",
    re.IGNORECASE,
)
TAG = re.compile(r"<[^>]+>")
BLOCK_END = re.compile(r"</(p|div|tr|li|h\d)>|<br\s*/?>", re.IGNORECASE)
SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


class UnreadableMail(ValueError):
    """The bytes are not a message we can read: it is quarantined, never dropped."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class InboundMail:
    message_id: str | None
    sender_email: str
    sender_name: str | None
    subject: str
    text: str
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def parse_mail(raw: bytes) -> InboundMail:
    if not raw.strip():
        raise UnreadableMail("empty message")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        senders = getaddresses([str(msg.get("From", ""))])
        subject = str(msg.get("Subject", "") or "").strip()
    except (ValueError, TypeError, IndexError, LookupError) as exc:
        raise UnreadableMail(f"headers cannot be read: {exc}") from exc
    name, address = senders[0] if senders else ("", "")
    if "@" not in address:
        raise UnreadableMail("no sender address")
    refs = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References"))
    return InboundMail(
        message_id=_angle(str(msg.get("Message-ID", ""))) or None,
        sender_email=address.strip().lower(),
        sender_name=name.strip() or None,
        subject=subject,
        text=body_text(msg),
        references=re.findall(r"<([^<>\s]+)>", refs),
        attachments=attachments_of(msg),
        headers={k.lower(): str(v) for k, v in msg.items()},
    )


def body_text(msg: EmailMessage) -> str:
    """The message's text: the plain part, else its HTML turned into text."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _content(part)
    return html_to_text(content) if part.get_content_subtype() == "html" else content.strip()


def attachments_of(msg: EmailMessage) -> list[Attachment]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        found.append(
            Attachment(
                filename=part.get_filename() or "unnamed",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return found


def html_to_text(markup: str) -> str:
    text = SCRIPT.sub("", markup)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(TAG.sub("", text))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def loop_reason(mail: InboundMail, our_domain: str) -> str | None:
    """Why this message must not become or feed a ticket (an auto-reply, a bounce, our own)."""
    h = mail.headers
    if h.get("auto-submitted", "no").strip().lower() != "no":
        return f"auto-reply (Auto-Submitted: {h['auto-submitted'].strip()})"
    if "x-autoreply" in h or "x-autorespond" in h:
        return "auto-reply (X-Autoreply)"
    if h.get("precedence", "").strip().lower() in AUTO_PRECEDENCE:
        return f"auto-reply (Precedence: {h['precedence'].strip()})"
    if "multipart/report" in h.get("content-type", "").lower() or BOUNCE_SENDERS.match(
        mail.sender_email
    ):
        return "bounce (delivery status notification)"
    if mail.sender_email.endswith("@" + our_domain) or "x-switchboard-notification" in h:
        return "our own notification came back"
    if OUT_OF_OFFICE.match(mail.subject):
        return "auto-reply (out-of-office subject)"
    return None


def referenced_number(mail: InboundMail) -> str | None:
    match = NUMBER_IN_SUBJECT.search(mail.subject)
    return match.group(1).upper() if match else None


def new_text(text: str) -> str:
    """A reply without the quoted history below it (the original is kept whole elsewhere)."""
    kept: list[str] = []
    for line in text.splitlines():
        if QUOTE_HEADER.match(line.strip()) or line.startswith(">"):
            break
        kept.append(line)
    return "\n".join(kept).strip() or text.strip()


def _content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):  # unknown charset: decode what we can
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _angle(value: str) -> str:
    return value.strip().strip("<>").strip()
