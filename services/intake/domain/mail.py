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
OUT_OF_OFFICE = re.compile(  # the mailer's prefix, then a colon: not a person asking about one
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office( auto ?reply)?|"
    r"abwesenheit(snotiz)?|autosvar|automatiskt svar|automatyczna odpowiedź|"
    r"odpowiedź automatyczna|автоответ|автоматический ответ|нет на месте)\s*:",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(On .{1,250} wrote:|Am .{1,200} schrieb .{1,100}:|-----\s*Original Message\s*-----|"
    r"From: .+|Från: .+|Od: .+|От: .+|_{10,}|"
    r"Den .{1,200} skrev .{0,200}:|(Dnia|W dniu) .{1,200} napisał(\(a\))?:|"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,200}(wrote|пишет|написал(\(а\))?|napisał(\(a\))?|"
    r"skrev):?)\s*$",
    re.IGNORECASE,
)
TAG = re.compile(r"<[^>]+>")
BLOCK_END = re.compile(
    r"</(p|div|tr|li|h\d|table|ul|ol|blockquote|pre|dt|dd)>|<(br|hr)\b[^>]*>", re.IGNORECASE
)
CELL_END = re.compile(r"</t[dh]>", re.IGNORECASE)
HIDDEN = re.compile(
    r"<(script|style|title|head)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
PRE = re.compile(r"<pre\b.*?</pre\s*>", re.IGNORECASE | re.DOTALL)


# Python's own table, not the host's /etc/mime.types: the same file gets the same type anywhere.
TYPES = mimetypes.MimeTypes(filenames=())
for _ext, _type in ((".log", "text/plain"), (".eml", "message/rfc822")):
    TYPES.add_type(_type, _ext)


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
        attachments=attachments_of(msg, "\r\n" if b"\r\n" in raw else "\n") + uuencoded,
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
    """The message's text: every piece of the body in order (a phone's mail puts text before
    and after a photo), each the plain rendering if there is one, else the HTML made text."""
    pieces = [_piece_text(part) for part in _body_parts(msg, top=True)]
    return "\n\n".join(p for p in pieces if p)


def _body_parts(part: EmailMessage, top: bool = False) -> list[EmailMessage]:
    if part.get_content_maintype() == "multipart":
        subs = [p for p in part.iter_parts() if isinstance(p, EmailMessage)]
        if part.get_content_subtype() == "alternative":
            for want in ("plain", "html"):
                for sub in subs:
                    if _renders(sub, want):
                        return _body_parts(sub)
            return []
        if part.get_content_subtype() == "related":
            subs = subs[:1]  # the root; the rest are what it shows (images)
        return [found for sub in subs for found in _body_parts(sub)]
    if part.get_content_type() in ("text/plain", "text/html") and (top or not _is_file(part)):
        return [part]
    return []


def _renders(part: EmailMessage, subtype: str) -> bool:
    if part.get_content_maintype() == "multipart":
        return any(_renders(p, subtype) for p in part.iter_parts() if isinstance(p, EmailMessage))
    return part.get_content_type() == f"text/{subtype}"


def _piece_text(part: EmailMessage) -> str:
    content = _content(part).replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    if str(part.get_param("format", "")).lower() == "flowed":
        content = unflow(content, str(part.get_param("delsp", "")).lower() == "yes")
    return content.strip()


def unflow(text: str, delsp: bool) -> str:
    """format=flowed (RFC 3676): soft line breaks joined, space-stuffing removed."""
    lines: list[str] = []
    joined: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        body = body[1:] if body.startswith(" ") else body
        soft = body.endswith(" ") and body != "-- "
        if soft and delsp:
            body = body[:-1]
        if joined is not None and joined[0] == depth:
            joined = (depth, joined[1] + body)
        else:
            if joined is not None:
                lines.append(_quoted(*joined))
            joined = (depth, body)
        if not soft:
            lines.append(_quoted(*joined))
            joined = None
    if joined is not None:
        lines.append(_quoted(*joined))
    return "\n".join(lines)


def _quoted(depth: int, body: str) -> str:
    if not depth:
        return body
    return ">" * depth + (" " + body.rstrip() if body.strip() else "")


def attachments_of(msg: EmailMessage, linesep: str = "\r\n") -> list[Attachment]:
    """Every part that is not the body: files, inline images and attached messages, however
    deeply the multiparts nest (an attached message is kept whole, not opened)."""
    body = {id(part) for part in _body_parts(msg, top=True)}
    return [
        _attachment(part, linesep)
        for part in _leaves(msg)
        if id(part) not in body and _is_file(part)
    ]


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


def _attachment(part: EmailMessage, linesep: str) -> Attachment:
    content_type = part.get_content_type()
    # Headers as they came (not refolded), so a forwarded message keeps its signature valid.
    verbatim = policy.default.clone(linesep=linesep, refold_source="none")
    if content_type == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, EmailMessage):
            content, title = inner.as_bytes(policy=verbatim), str(inner.get("Subject") or "")
        else:
            content, title = b"", ""
        default_name = (_safe_name(title.replace("/", "-")) or "message") + ".eml"
    elif part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        blocks = [b for b in part.get_payload() if isinstance(b, EmailMessage)]
        content = b"".join(b.as_bytes(policy=verbatim) for b in blocks)
        content = content.removesuffix(linesep.encode()) if blocks else content
        default_name = "unnamed" + (TYPES.guess_extension(content_type) or "")
    else:
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        default_name = "unnamed" + (TYPES.guess_extension(content_type) or "")
    content_id = _angle(str(part.get("Content-ID", ""))) or None
    return Attachment(
        filename=_safe_name(part.get_filename() or "") or default_name,
        content_type=content_type,
        content=content,
        inline=part.get_content_disposition() == "inline"
        or (part.get_content_disposition() is None and content_id is not None),
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
        kind = TYPES.guess_type(name)[0] or "application/octet-stream"
        found.append(Attachment(filename=name, content_type=kind, content=content))
        return ""

    rest = UUENCODED.sub(take, text)
    return (re.sub(r"\n{3,}", "\n\n", rest).strip() if found else text), found


def _safe_name(name: str) -> str:
    """A file name without directories or control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip().strip(".")[:200]


def html_to_text(markup: str) -> str:
    text = HIDDEN.sub("", markup)
    text = PRE.sub(lambda m: m.group(0).replace("\n", "<br>"), text)
    text = re.sub(r"\s+", " ", text)  # in HTML a line break in the source is a space
    text = CELL_END.sub(" ", text)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(TAG.sub("", text))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def loop_reason(mail: InboundMail, our_domain: str) -> str | None:
    """Why this message must not become or feed a ticket (an auto-reply, a bounce, our own)."""
    h = mail.headers
    # The most telling reason first: our own notices and bounces carry Auto-Submitted too.
    if mail.sender_email.endswith("@" + our_domain) or "x-switchboard-notification" in h:
        return "our own notification came back"
    if "multipart/report" in h.get("content-type", "").lower() or BOUNCE_SENDERS.match(
        mail.sender_email
    ):
        return "bounce (delivery status notification)"
    if h.get("auto-submitted", "no").strip().lower() != "no":
        return f"auto-reply (Auto-Submitted: {h['auto-submitted'].strip()})"
    if "x-autoreply" in h or "x-autorespond" in h:
        return "auto-reply (X-Autoreply)"
    if h.get("precedence", "").strip().lower() in AUTO_PRECEDENCE:
        return f"auto-reply (Precedence: {h['precedence'].strip()})"
    if OUT_OF_OFFICE.match(mail.subject):
        return "auto-reply (out-of-office subject)"
    return None


def referenced_number(mail: InboundMail) -> str | None:
    match = NUMBER_IN_SUBJECT.search(mail.subject)
    return match.group(1).upper() if match else None


def new_text(text: str) -> str:
    """A reply without the quoted history below it (the original is kept whole elsewhere)."""
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        # Mailers wrap a long attribution ("On ..., Name <\naddress> wrote:") over two lines.
        wrapped = f"{line.strip()} {lines[index + 1].strip()}" if index + 1 < len(lines) else ""
        if line.startswith(">") or QUOTE_HEADER.match(line.strip()):
            break
        if wrapped and line.strip() and QUOTE_HEADER.match(wrapped) and _attribution(wrapped):
            break
        kept.append(line)
    return "\n".join(kept).strip() or text.strip()


def _attribution(line: str) -> bool:
    """A joined pair of lines that ends like an attribution (not a From: header line)."""
    return bool(re.search(r"(wrote|schrieb|skrev|napisał(\(a\))?|пишет|написал(\(а\))?):$", line))


def _content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):  # unknown charset: decode what we can
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _angle(value: str) -> str:
    return value.strip().strip("<>").strip()
