"""Inbound e-mail, pure: parse a raw RFC 822 message, spot loops and junk, find the ticket it
answers, and keep only the new text of a reply."""

from __future__ import annotations

import binascii
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
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


UUENCODED = re.compile(
    r"^begin [0-7]{3,4} (?P<name>[^\r\n]+)\r?\n(?P<body>.*?)^end[ \t]*\r?$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    inline: bool = False
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


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
    text, uuencoded = split_uuencoded(body_text(msg))
    return InboundMail(
        message_id=_angle(str(msg.get("Message-ID", ""))) or None,
        sender_email=address.strip().lower(),
        sender_name=name.strip() or None,
        subject=subject,
        text=text,
        references=re.findall(r"<([^<>\s]+)>", refs),
        attachments=attachments_of(msg) + uuencoded,
        headers={k.lower(): str(v) for k, v in msg.items()},
    )


def sender_and_subject(raw: bytes) -> tuple[str | None, str | None]:
    """Only the headers, for a message too big to open: who sent it, about what."""
    try:
        msg = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        senders = getaddresses([str(msg.get("From", ""))])
        subject = str(msg.get("Subject", "") or "").strip() or None
    except (ValueError, TypeError, IndexError, LookupError):
        return None, None
    address = senders[0][1].strip().lower() if senders else ""
    return (address if "@" in address else None), subject


def body_text(msg: EmailMessage) -> str:
    """The message's text: the plain part, else its HTML turned into text."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _content(part)
    return html_to_text(content) if part.get_content_subtype() == "html" else content.strip()


def attachments_of(msg: EmailMessage) -> list[Attachment]:
    """Every part that is not the body: files, inline images and attached messages, however
    deeply the multiparts nest (an attached message is kept whole, not opened)."""
    body = msg.get_body(preferencelist=("plain", "html"))
    return [_attachment(part) for part in _leaves(msg) if part is not body and _is_file(part)]


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    if part.get_content_maintype() != "multipart":
        return [part]
    found: list[EmailMessage] = []
    for sub in part.iter_parts():
        assert isinstance(sub, EmailMessage)
        found.extend(_leaves(sub))
    return found


def _is_file(part: EmailMessage) -> bool:
    """Text without a file name is another rendering or piece of the body, not a file."""
    if part.get_content_maintype() != "text":
        return True
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def _attachment(part: EmailMessage) -> Attachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, EmailMessage):
            content, title = inner.as_bytes(policy=policy.SMTP), str(inner.get("Subject") or "")
        else:
            content, title = b"", ""
        default_name = (_safe_name(title.replace("/", "-")) or "message") + ".eml"
    else:
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        default_name = "unnamed" + (mimetypes.guess_extension(content_type) or "")
    content_id = _angle(str(part.get("Content-ID", ""))) or None
    return Attachment(
        filename=_safe_name(part.get_filename() or "") or default_name,
        content_type=content_type,
        content=content,
        inline=part.get_content_disposition() == "inline" or content_id is not None,
        content_id=content_id,
    )


def split_uuencoded(text: str) -> tuple[str, list[Attachment]]:
    """Old mailers put files in the body as uuencoded blocks: take them out as attachments."""
    found: list[Attachment] = []

    def take(match: re.Match[str]) -> str:
        try:
            content = b"".join(
                binascii.a2b_uu(line) for line in match["body"].splitlines() if line.strip()
            )
        except binascii.Error:
            return match.group(0)
        name = _safe_name(match["name"]) or "unnamed"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        found.append(Attachment(filename=name, content_type=kind, content=content))
        return ""

    rest = UUENCODED.sub(take, text)
    return (re.sub(r"\n{3,}", "\n\n", rest).strip() if found else text), found


def _safe_name(name: str) -> str:
    """A file name without directories or control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip().strip(".")[:200]


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
