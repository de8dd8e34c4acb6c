"""Inbound e-mail, pure: parse a raw RFC 822 message, spot loops and junk, find the ticket it
answers, and keep only the new text of a reply.

The bytes come from anyone, so every step is linear in them: the HTML and uuencode scanners
only move forward, the patterns are anchored or bounded, and the standard library's parser is
held to limits where it is recursive or slower than linear (MIME depth and parts, the length of
a header and of all headers it parses), and it runs in a worker thread (service/inbound.py).
"""

from __future__ import annotations

import binascii
import codecs
import html
import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from email.utils import getaddresses
from enum import StrEnum
from typing import Any

import charset_normalizer

from . import cp50220  # noqa: F401 (registers the codec)

MAX_MIME_DEPTH = 20
MAX_MIME_PARTS = 500
# Longer than any real header we read (a long RFC 2231 file name is ~3 KB); below it the
# standard library's structured header parser, slower than linear, costs milliseconds.
MAX_HEADER_CHARS = 8_192
# All headers parsed in one message (each different one once): that parser costs up to ~15 us
# a character (its garbage collection included), so this caps it near two seconds; a message
# of 500 ordinary parts needs about half of it.
MAX_HEADERS_CHARS = 131_072
HEAD_BYTES = 1_048_576  # of a message too big to open, only this much is read for its sender
SENDER_NAME_CHARS = 200  # what a ticket's Person holds
SENDER_ADDRESS_CHARS = 320
FILE_LIKE = re.compile(r"[^.]{1,150}\.[A-Za-z0-9]{2,6}")
NAMES_BY_TYPE = {
    "message/delivery-status": ("delivery-status", "txt"),
    "text/plain": ("document", "txt"),
    "text/html": ("document", "html"),
    "text/calendar": ("calendar", "ics"),
    "image/jpeg": ("image", "jpg"),
    "image/jpg": ("image", "jpg"),
    "image/png": ("image", "png"),
    "image/gif": ("image", "gif"),
    "video/quicktime": ("video", "mov"),
}
SENDER_HEADERS = ("From", "Sender", "Reply-To", "Return-Path")
BARE_BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
ENCODED_WORD = re.compile(r"=\?[^?\s]{1,75}\?[bBqQ]\?[^?\s]{0,998}\?=")
QUOTED_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*<([^<>\s]{1,998})>", re.I | re.M)
MAX_EMBEDDED = 20
DSN_FIELD = re.compile(r"^(?:Status|Diagnostic-Code):[ \t]*([^\r\n]{1,200})", re.I | re.M)
HEADER_LINE = re.compile(rb"[!-9;-~]{1,200}[ \t]*:")
JUNK_LINES = 5  # lines before the first header dropped at most (a mailbox line, blank lines)
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
MAX_RECIPIENTS = 200
RESULTS = "authentication-results"
# Lists of Message-IDs are read as they came: long in long threads, and only <id> matters.
AS_THEY_CAME = frozenset({"references", "in-reply-to"})
# Pure-Python decoders, punycode's quadratic: a body in them is read as UTF-8 instead.
SLOW_CODECS = frozenset({"punycode", "idna"})
NOT_TEXT = frozenset(
    {
        "base64_codec",
        "quopri_codec",
        "uu_codec",
        "hex_codec",
        "zlib_codec",
        "bz2_codec",
        "rot_13",
        "undefined",
    }
)
SUPERSETS = {  # what a label means in practice: its superset (the WHATWG encoding table's view)
    "gb2312": "gb18030",
    "iso-gb2312": "gb18030",
    "csgb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "latin_1": "cp1252",
    "iso8859-1": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859_1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc_kr": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "iso2022_jp": "cp50220",  # Microsoft's form, with CP932's extensions (cp50220.py)
    "iso-2022-jp": "cp50220",
    "tis-620": "cp874",
    "tis_620": "cp874",
    "iso8859_9": "cp1254",
    "iso-8859-9": "cp1254",
    "iso8859_11": "cp874",
}
CONTENT_TYPE_LINE = re.compile(
    rb"^content-type:[^\n]{0,998}\n(?:[ \t][^\n]{0,998}\n){0,20}", re.I | re.M
)
FIRST_DELIMITER = re.compile(rb"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.M)
META_CHARSET = re.compile(rb"<meta[^>]{0,200}charset=[\"']?([A-Za-z0-9_.:-]{1,40})", re.I)
META_BYTES = 4_096
WORD_CHARSET = re.compile(r"=\?([A-Za-z0-9_.:*-]{1,40})\?")  # an encoded word's charset label
DETECT_BYTES = 65_536  # a detector reads this much of an undeclared text at most
MAX_PARTS_READ = 50
IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})
UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})

NUMBER_IN_SUBJECT = re.compile(r"\[(HD-\d{6,})\]", re.IGNORECASE)
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
OUT_OF_OFFICE = re.compile(  # the mailer's prefix, then a colon: not a person asking about one
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office( auto ?reply)?|"
    r"abwesenheit(snotiz)?|autosvar|automatiskt svar|automatyczna odpowiedź|"
    r"odpowiedź automatyczna|автоответ|автоматический ответ|нет на месте)\s*:",
    re.IGNORECASE,
)
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(  # what bounces say, not what a person asking about one writes
    r"^(undelivered mail returned to sender|undeliverable:|undelivered:|"
    r"delivery status notification \((failure|delay)\)|mail delivery failed|failure notice|"
    r"returned mail:|delivery failure|message not delivered|"
    r"unzustellbar:|olevererbart:|niedostarczalne:|не доставлено:|недоставленное сообщение)",
    re.IGNORECASE,
)
QUOTE_HEADER = re.compile(
    r"^(On .{1,250} wrote:|Am .{1,200} schrieb .{1,100}:|-----\s*Original Message\s*-----|"
    r"From: .+|Från: .+|Od: .+|От: .+|_{10,}|"
    r"Den .{1,200} skrev .{0,200}:|(Dnia|W dniu) .{1,200} napisał(\(a\))?:|"
    r"\d{1,2}[./]\d{1,2}[./]\d{2,4}.{0,200}(wrote|пишет|написал(\(а\))?|napisał(\(a\))?|"
    r"skrev):?)\s*$",
    re.IGNORECASE,
)
ATTRIBUTION_END = re.compile(r"(wrote|schrieb|skrev|napisał(\(a\))?|пишет|написал(\(а\))?):$")
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BLANK_LINES = re.compile(r"\n{3,}")
WHITESPACE = re.compile(r"\s+")
SPACES = re.compile(r"[ \t\xa0]+")

# The HTML scanner's patterns: each search starts where the last token ended.
GT = re.compile(r">")
COMMENT_END = re.compile(r"-->")
MARKUP = re.compile(r"<(?:(/?)([A-Za-z][^\s/>]*+)|!--|[!?/])")  # a "<" that opens something
SEARCH_WINDOW = 65_536
HIDDEN = {"script", "style", "title", "head"}
RAW_TEXT = {"script", "style"}  # left open, they hide the rest, as in a browser
CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in sorted(HIDDEN)}
BLOCK_ENDS = {"p", "div", "tr", "li", "table", "ul", "ol", "blockquote", "pre", "dt", "dd"}
BLOCK_ENDS |= {f"h{digit}" for digit in range(10)}
CELL_ENDS = {"td", "th"}
# A decimal character reference too long for int() (past 4300 digits it raises) or Unicode.
LONG_REF = re.compile(r"&#(?:0++([0-9]*+)|[1-9][0-9]{7,}+)(;?)")

UU_BEGIN = re.compile(r"begin [0-7]{3,4} ([^\r\n]+)\r?")  # fullmatch() on one line
UU_END = re.compile(r"end[ \t]*\r?")  # fullmatch() on one line

# Python's own table, not the host's /etc/mime.types: the same file gets the same type anywhere.
TYPES = mimetypes.MimeTypes(filenames=())
for _ext, _type in ((".log", "text/plain"), (".eml", "message/rfc822")):
    TYPES.add_type(_type, _ext)


class UnreadableMail(ValueError):
    """The bytes are not a message we can read: it is quarantined, never dropped."""


@dataclass
class _Budget:
    max_depth: int
    max_parts: int
    parts: int = 1
    header_chars: int = 0

    def read(self, name: str, value: str) -> None:
        if len(value) > MAX_HEADER_CHARS:
            raise UnreadableMail(
                f"the {name[:60]} header is longer than {MAX_HEADER_CHARS} characters"
            )
        self.header_chars += len(value)
        if self.header_chars > MAX_HEADERS_CHARS:
            raise UnreadableMail(f"more than {MAX_HEADERS_CHARS} characters of headers to read")

    def admit(self, depth: int) -> None:
        self.parts += 1
        if depth > self.max_depth:
            raise UnreadableMail(f"MIME parts nested deeper than {self.max_depth} levels")
        if self.parts > self.max_parts:
            raise UnreadableMail(f"more than {self.max_parts} MIME parts")


class _Part(EmailMessage):
    """A part that knows its depth: the parser is stopped at the limits, before its recursion
    (and its work per line, which grows with the depth) can run away."""

    depth = 0

    def attach(self, payload: Any) -> None:
        if isinstance(self.policy, _Reading) and isinstance(payload, _Part):
            payload.depth = self.depth + 1
            self.policy.budget.admit(payload.depth)
        super().attach(payload)

    def get_boundary(self, failobj: Any = None) -> Any:
        # From the parsed header, which is read once; the standard get_param is quadratic.
        params = _params(self, "content-type")
        boundary = params.get("boundary")
        return failobj if boundary is None else boundary.rstrip()


class _Reading(EmailPolicy):
    """policy.default for one message from outside: each header is parsed once (the standard
    library parses it again on every read), and one too long to parse safely, or more of them
    than the budget, is refused."""

    budget: _Budget
    parsed: dict[tuple[str, str], Any]
    charsets: tuple[str, ...]

    def __init__(self, max_depth: int, max_parts: int) -> None:
        super().__init__(message_factory=_Part)
        object.__setattr__(self, "budget", _Budget(max_depth, max_parts))
        object.__setattr__(self, "parsed", {})
        object.__setattr__(self, "charsets", ())

    def header_fetch_parse(self, name: str, value: str) -> Any:
        key = (name.lower(), value)
        if key[0] in AS_THEY_CAME:
            return "".join(value.splitlines())
        header = self.parsed.get(key)
        if header is None:
            self.budget.read(name, value)
            if "=?" in value:  # encoded words read in their charsets' supersets too
                value = WORD_CHARSET.sub(_superset_label, value)
            header = super().header_fetch_parse(name, value)
            self.parsed[key] = header
        return header


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
    """Every top-level header by lower-case name, unfolded, encoded words left as they came."""
    recipients: list[str] = field(default_factory=list)
    """Addresses it was sent to (To, Cc, Delivered-To, X-Original-To; SMTP's RCPT TO added)."""
    auth_results: list[str] = field(default_factory=list)
    """Every Authentication-Results header, topmost (the last server's) first."""
    embedded_ids: list[str] = field(default_factory=list)
    """Message-IDs of messages it carries (attached, or their headers quoted): a bounce's
    original."""
    sender_suspect: bool = False
    """The sender's address holds an encoded word (RFC 2047 forbids it there: a way to fake
    a sender); it is kept literally and proves nothing."""


def parse_mail(
    raw: bytes, *, max_depth: int = MAX_MIME_DEPTH, max_parts: int = MAX_MIME_PARTS
) -> InboundMail:
    if not raw.strip():
        raise UnreadableMail("empty message")
    try:
        return _read(raw, _Reading(max_depth, max_parts))
    except UnreadableMail:
        raise
    except RecursionError as exc:
        raise UnreadableMail("structure nested too deeply to read") from exc
    except Exception as exc:
        # Hostile bytes reach the standard library's parser, whose failures are not all
        # documented (ValueError, LookupError, IndexError, AttributeError, ...): whatever it
        # raises, the message is held with the reason, never lost or answered with an error.
        raise UnreadableMail(f"cannot be parsed ({type(exc).__name__}: {exc})"[:300]) from exc


def _read(raw: bytes, reading: _Reading) -> InboundMail:
    msg = message_from_bytes(with_boundary(repaired(raw)), policy=reading)
    assert isinstance(msg, EmailMessage)
    object.__setattr__(reading, "charsets", _charsets(msg))  # for raw 8-bit file names
    name, address, suspect = sender_of(msg)
    if not address:
        raise UnreadableMail("no sender address")
    if len(address) > SENDER_ADDRESS_CHARS:
        raise UnreadableMail(f"sender address longer than {SENDER_ADDRESS_CHARS} characters")
    refs = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References"))
    text, uuencoded = split_uuencoded(body_text(msg))
    return InboundMail(
        message_id=_angle(str(msg.get("Message-ID", ""))) or None,
        sender_email=address,
        sender_name=name.strip()[:SENDER_NAME_CHARS].strip() or None,
        sender_suspect=suspect,
        subject=_header(msg, "Subject", reading.charsets).strip(),
        text=text,
        references=MESSAGE_ID.findall(refs),
        attachments=attachments_of(msg, "\r\n" if b"\r\n" in raw else "\n", raw) + uuencoded,
        headers={k.lower(): _unfolded(v) for k, v in msg.raw_items()},
        recipients=_recipients(msg),
        embedded_ids=_embedded_ids(msg, text),
        auth_results=[_unfolded(v) for k, v in msg.raw_items() if k.lower() == RESULTS],
    )


def _embedded_ids(msg: EmailMessage, text: str) -> list[str]:
    """The Message-IDs of attached messages, of quoted header blocks (text/rfc822-headers) and
    of header lines in the text (a plain bounce quotes the original below its report)."""
    found: list[str] = []
    for part in _leaves(msg):
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, EmailMessage) and inner.get("Message-ID"):
                found.append(_angle(str(inner["Message-ID"])))
        elif part.get_content_type() == "text/rfc822-headers":
            found += QUOTED_MESSAGE_ID.findall(_content(part)[:MAX_HEADERS_CHARS])
    found += QUOTED_MESSAGE_ID.findall(text)
    return list(dict.fromkeys(f for f in found if f))[:MAX_EMBEDDED]


def _recipients(msg: EmailMessage) -> list[str]:
    values = [str(v) for h in RECIPIENT_HEADERS for v in msg.get_all(h, [])]
    found = [address.strip().lower() for _, address in getaddresses(values)]
    return list(dict.fromkeys(a for a in found if "@" in a))[:MAX_RECIPIENTS]


def sender_of(msg: EmailMessage) -> tuple[str, str, bool]:
    """(name, address, suspect): the first usable address of From (of the first From that
    holds one), else of Sender, Reply-To, Return-Path; a bare MAILER-DAEMON or postmaster is
    a bounce's sender. An address with an encoded word in it is kept as it came, suspect."""
    for value in _raw_values(msg, "from"):
        for name, address in getaddresses([value]):
            if ENCODED_WORD.search(address) and "@" in address:
                return _decoded_name(name), _normal_address(address), True
    for header in SENDER_HEADERS:
        # as parsed (encoded words in names decoded), then as they came (what the parser lost)
        values = [str(v) for v in msg.get_all(header, [])] + _raw_values(msg, header.lower())
        for value in values:
            for name, address in getaddresses([value]):
                address = _normal_address(address)
                if _usable(address):
                    return _decoded_name(name) if "=?" in name else name, address, False
    for value in _raw_values(msg, "from"):
        if value.strip().strip("<>").lower() in BARE_BOUNCE_SENDERS:
            return "", value.strip().strip("<>").lower(), False
    return "", "", False


def _raw_values(msg: EmailMessage, name: str) -> list[str]:
    return [_unfolded(v)[:MAX_HEADER_CHARS] for k, v in msg.raw_items() if k.lower() == name]


def _decoded_name(raw_name: str) -> str:
    """A display name read from a raw header: its encoded words decoded where they can be."""
    try:
        return str(make_header(decode_header(raw_name)))
    except Exception:  # a broken encoded word, an unknown charset: the name as it came
        return raw_name


def _normal_address(address: str) -> str:
    address = address.strip().strip("<>").strip().lower()
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{domain.rstrip('.')}" if at else address


def _usable(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and not WHITESPACE.search(address))


def repaired(raw: bytes) -> bytes:
    """The message with what breaks the standard parser mended, in one pass over its header
    block: junk lines before the first header are dropped (a few at most), and a line in the
    header block that is neither a header nor indented (folding a mailer broke) is indented.
    A message needing neither comes back as it was."""
    pos = 0
    for _ in range(JUNK_LINES + 1):
        if HEADER_LINE.match(raw, pos) or raw.startswith(b"From ", pos):
            break
        newline = raw.find(b"\n", pos)
        if newline < 0:
            return raw
        pos = newline + 1
    else:
        return raw  # no header near the top: the parser takes it as it is
    blanks = [at for at in (raw.find(b"\n\n", pos), raw.find(b"\n\r\n", pos)) if at >= 0]
    split = min(blanks) + 1 if blanks else len(raw)
    lines = raw[pos:split].split(b"\n")
    headers = [i for i, line in enumerate(lines) if HEADER_LINE.match(line)]
    last = len(lines) if blanks else headers[-1] if headers else 0
    broken = [
        i
        for i, line in enumerate(lines[:last])
        if i and line.strip() and line[:1] not in (b" ", b"\t") and not HEADER_LINE.match(line)
    ]
    if not pos and not broken:
        return raw
    for i in broken:
        lines[i] = b" " + lines[i]
    return b"\n".join(lines) + raw[split:]


def sender_and_subject(raw: bytes) -> tuple[str | None, str | None]:
    """Only the headers, for a message too big to open: who sent it, about what."""
    ends = [at for at in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if at >= 0]
    head = raw[: min([*ends, HEAD_BYTES])]
    try:
        msg = BytesHeaderParser(policy=_Reading(MAX_MIME_DEPTH, MAX_MIME_PARTS)).parsebytes(head)
        senders = getaddresses([str(msg.get("From", ""))])
        subject = str(msg.get("Subject", "") or "").strip() or None
    except Exception:  # any failure of the parser (see parse_mail): held without them
        return None, None
    address = senders[0][1].strip().lower() if senders else ""
    readable = "@" in address and len(address) <= SENDER_ADDRESS_CHARS
    return (address if readable else None), subject


def body_text(msg: EmailMessage) -> str:
    """The message's text: every piece of the body in order (a phone's mail puts text before
    and after a photo), each the plain rendering if there is one, else the HTML made text."""
    pieces = [_piece_text(part) for part in _body_parts(msg, top=True)]
    return "\n\n".join(p for p in pieces if p)


def _body_parts(part: EmailMessage, top: bool = False) -> list[EmailMessage]:
    if part.get_content_maintype() == "multipart":
        subs = [p for p in part.iter_parts() if isinstance(p, EmailMessage)]
        if part.get_content_subtype() == "alternative":
            for want in ("plain", "html"):  # a blank plain rendering: the HTML one instead
                for sub in subs:
                    if _renders(sub, want) and (found := _body_parts(sub)):
                        if want == "html" or any(_piece_text(p) for p in found):
                            return found
            return []
        if part.get_content_subtype() == "related":
            subs = subs[:1]  # the root; the rest are what it shows (images)
        return [found for sub in subs for found in _body_parts(sub)]
    plain_or_html = part.get_content_type() in ("text/plain", "text/html")
    if plain_or_html and ((top and not _uuencoded(part)) or not _is_file(part)):
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
    params = _params(part, "content-type")
    if params.get("format", "").lower() == "flowed":
        content = unflow(content, params.get("delsp", "").lower() == "yes")
    return content.strip()


def unflow(text: str, delsp: bool) -> str:
    """format=flowed (RFC 3676): soft line breaks joined, space-stuffing removed."""
    lines: list[str] = []
    joined: tuple[int, list[str]] | None = None  # a list: adding to a string is quadratic
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        body = body[1:] if body.startswith(" ") else body
        soft = body.endswith(" ") and body != "-- "
        if soft and delsp:
            body = body[:-1]
        if joined is not None and joined[0] == depth:
            joined[1].append(body)
        else:
            if joined is not None:
                lines.append(_quoted(joined[0], "".join(joined[1])))
            joined = (depth, [body])
        if not soft:
            lines.append(_quoted(joined[0], "".join(joined[1])))
            joined = None
    if joined is not None:
        lines.append(_quoted(joined[0], "".join(joined[1])))
    return "\n".join(lines)


def _quoted(depth: int, body: str) -> str:
    if not depth:
        return body
    return ">" * depth + (" " + body.rstrip() if body.strip() else "")


def attachments_of(
    msg: EmailMessage, linesep: str = "\r\n", raw: bytes | None = None
) -> list[Attachment]:
    """Every part that is not the body: files, inline images and attached messages, however
    deeply the multiparts nest (an attached message is kept whole, not opened)."""
    body = {id(part) for part in _body_parts(msg, top=True)}
    renderings = _renderings(msg)
    leaves = _leaves(msg)
    bodies = raw_bodies(raw) if raw is not None else None
    as_sent = (
        dict(zip(map(id, leaves), bodies, strict=True))
        if bodies and len(bodies) == len(leaves)
        else {}
    )
    files = [
        _attachment(part, linesep, as_sent.get(id(part)))
        for part in leaves
        if id(part) not in body and (_is_file(part) or id(part) not in renderings)
    ]
    return _counted(files)


def raw_bodies(raw: bytes) -> list[bytes] | None:
    """The body bytes of each leaf of a message, as they came, in the order the parser's
    leaves are walked (depth first), or None where the bytes do not split cleanly. One pass
    over the bytes at each level of nesting, whose depth and parts the parse already bounded."""
    found: list[bytes] = []
    stack = [raw]
    while stack:
        entity = stack.pop()
        head, body = _split_entity(entity)
        boundary = _boundary(head)
        if boundary is None:
            found.append(body)
            continue
        parts = _split_multipart(body, boundary)
        if parts is None:
            return None
        stack += reversed(parts)
        if len(found) + len(stack) > MAX_MIME_PARTS * 2:
            return None
    return found


def with_boundary(raw: bytes) -> bytes:
    """A multipart message whose Content-Type names no boundary (the parser would find no part
    in it) given the one its body uses: the first delimiter-like line."""
    head, body = _split_entity(raw)
    content_type = CONTENT_TYPE_LINE.search(head + b"\n")
    if content_type is None or b"multipart/" not in content_type.group(0).lower():
        return raw
    if b"boundary" in content_type.group(0).lower():
        return raw
    delimiter = FIRST_DELIMITER.search(body[:HEAD_BYTES])
    if delimiter is None:
        return raw
    end = len(content_type.group(0).rstrip(b"\r\n")) + content_type.start()
    return raw[:end] + b'; boundary="' + delimiter.group(1) + b'"' + raw[end:]


def _split_entity(entity: bytes) -> tuple[bytes, bytes]:
    if entity.startswith((b"\r\n", b"\n")):  # no headers at all
        return b"", entity[2 if entity.startswith(b"\r\n") else 1 :]
    ends = [(at, 4) for at in [entity.find(b"\r\n\r\n")] if at >= 0]
    ends += [(at, 2) for at in [entity.find(b"\n\n")] if at >= 0]
    if not ends:
        return entity, b""
    at, size = min(ends)
    return entity[:at], entity[at + size :]


def _boundary(head: bytes) -> bytes | None:
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(head + b"\n\n")
    if parsed.get_content_maintype() != "multipart":
        return None
    boundary = parsed.get_param("boundary")
    return str(boundary).strip().encode("utf-8", "surrogateescape") if boundary else None


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The parts between the delimiter lines (the line break before a delimiter is its)."""
    delimiter = b"--" + boundary
    starts = []
    at = 0 if body.startswith(delimiter) else body.find(b"\n" + delimiter)
    while at >= 0:
        line_start = at if body.startswith(delimiter, at) else at + 1
        line_end = body.find(b"\n", line_start)
        rest = body[line_start + len(delimiter) : line_end if line_end >= 0 else len(body)]
        closing = rest.startswith(b"--")
        if rest.strip(b" \t\r-") and not closing:
            at = body.find(b"\n" + delimiter, line_start + 1)  # a longer boundary: not ours
            continue
        cut = line_start - (2 if body[:line_start].endswith(b"\r\n") else 1 if line_start else 0)
        starts.append((max(cut, 0), line_end + 1 if line_end >= 0 else len(body), closing))
        if closing or line_end < 0:
            break
        at = body.find(b"\n" + delimiter, line_end)
    if not starts:
        return None
    return [body[starts[i][1] : starts[i + 1][0]] for i in range(len(starts) - 1)]


def _counted(files: list[Attachment]) -> list[Attachment]:
    """Two files of one name: the second and later get a counter (image.jpg, image1.jpg)."""
    taken: set[str] = set()
    named = []
    for file in files:
        name, count = file.filename, 0
        stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        while name.lower() in taken:
            count += 1
            name = f"{stem}{count}{dot}{ext}"
        taken.add(name.lower())
        named.append(file if name == file.filename else replace(file, filename=name))
    return named


def _leaves(part: EmailMessage) -> list[EmailMessage]:
    if part.get_content_maintype() != "multipart":
        return [part]
    found: list[EmailMessage] = []
    for sub in part.iter_parts():
        assert isinstance(sub, EmailMessage)
        found.extend(_leaves(sub))
    return found


def _is_file(part: EmailMessage) -> bool:
    """Text without a file name is another rendering or piece of the body, not a file; text
    sent uuencoded is a file whatever it says."""
    if part.get_content_maintype() != "text" or _uuencoded(part):
        return True
    return part.get_content_disposition() == "attachment" or bool(_filename(part))


def _uuencoded(part: EmailMessage) -> bool:
    return str(part.get("Content-Transfer-Encoding", "")).strip().lower() in UU_ENCODINGS


def _renderings(msg: EmailMessage) -> set[int]:
    """The leaves of every multipart/alternative: other renderings of a text, not files."""
    found: set[int] = set()
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_maintype() != "multipart":
            continue
        subs = [p for p in part.iter_parts() if isinstance(p, EmailMessage)]
        if part.get_content_subtype() == "alternative":
            found |= {id(leaf) for sub in subs for leaf in _leaves(sub)}
        stack += subs
    return found


def _attachment(part: EmailMessage, linesep: str, sent: bytes | None = None) -> Attachment:
    """A file of the message; `sent`: its body's bytes as they came, if known."""
    content_type = part.get_content_type()
    # Headers as they came (not refolded), so a forwarded message keeps its signature valid.
    verbatim = policy.default.clone(linesep=linesep, refold_source="none")
    if content_type == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        encoding = str(part.get("Content-Transfer-Encoding", "") or "7bit").strip().lower()
        if isinstance(inner, EmailMessage):
            content, title = inner.as_bytes(policy=verbatim), str(inner.get("Subject") or "")
        else:
            content, title = b"", ""
        if sent is not None and encoding in IDENTITY_ENCODINGS:
            content = sent  # byte for byte: a re-serialised copy changes what it signed
        described = title or _header_text(part, "Content-Description")
        default_name = (_safe_name(described.replace("/", "-")) or "Mail") + ".eml"
    elif part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        blocks = [b for b in part.get_payload() if isinstance(b, EmailMessage)]
        content = b"".join(b.as_bytes(policy=verbatim) for b in blocks)
        content = content.removesuffix(linesep.encode()) if blocks else content
        default_name = _name_for(part, content_type)
    elif _uuencoded(part):  # the file's name is on its begin line
        raw_payload = str(part.get_payload(decode=False) or "")
        begin = UU_BEGIN.fullmatch(raw_payload.lstrip()[:300].split("\n", 1)[0].rstrip("\r"))
        named = _safe_name(begin[1]) if begin else ""
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        default_name = named or _name_for(part, content_type)
        if content_type.startswith("text/") and named:
            content_type = TYPES.guess_type(named)[0] or "application/octet-stream"
    else:
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        default_name = _name_for(part, content_type)
    content_id = _angle(str(part.get("Content-ID", ""))) or None
    return Attachment(
        filename=_safe_name(_filename(part)) or default_name,
        content_type=content_type,
        content=content,
        inline=part.get_content_disposition() == "inline"
        or (part.get_content_disposition() is None and content_id is not None),
        content_id=content_id,
    )


def _name_for(part: EmailMessage, content_type: str) -> str:
    """A file without a name is named as the established helpdesks name it, so users know it:
    by a Content-ID that looks like a file name, else by its type (image.jpg, document.html,
    delivery-status.txt), else by its Content-Location or its Content-ID's local part, else
    "file"."""
    content_id = _safe_name(_angle(_header_text(part, "Content-ID")).split("@")[0])
    if FILE_LIKE.fullmatch(content_id):  # Outlook's image001.png@01DA...
        return content_id
    if content_type in NAMES_BY_TYPE:
        return ".".join(NAMES_BY_TYPE[content_type])
    location = _header_text(part, "Content-Location").split("?")[0].split("#")[0]
    return _safe_name(location) or content_id or "file"


def _header_text(part: EmailMessage, name: str) -> str:
    return " ".join(str(part.get(name, "") or "").split())


def _params(part: EmailMessage, name: str) -> Mapping[str, str]:
    """A MIME header's parameters (RFC 2231 decoded), from the header parsed once."""
    params = getattr(part.get(name), "params", None)
    return params if isinstance(params, Mapping) else {}


def _filename(part: EmailMessage) -> str:
    named = _param_8bit(part, "content-disposition", "filename")
    named = named or _params(part, "content-disposition").get("filename")
    named = named or _param_8bit(part, "content-type", "name")
    return (named or _params(part, "content-type").get("name") or "").strip()


def _param_8bit(part: EmailMessage, header: str, param: str) -> str | None:
    """A parameter sent as raw 8-bit bytes (no RFC 2231), read in the message's charsets:
    the standard parser would make each byte U+FFFD."""
    for key, value in part.raw_items():
        if key.lower() != header or not isinstance(value, str):
            continue
        if not any("\udc80" <= c <= "\udcff" for c in value):
            return None
        charsets = getattr(part.policy, "charsets", ())
        text = _unfolded(value[:MAX_HEADER_CHARS], charsets)
        params = getattr(policy.default.header_factory(header, text), "params", {})
        found = params.get(param) if isinstance(params, Mapping) else None
        return str(found) if found else None
    return None


def split_uuencoded(text: str) -> tuple[str, list[Attachment]]:
    """Old mailers put files in the body as uuencoded blocks: take them out as attachments.

    One pass over the lines: a block runs from a `begin` line to the next `end` line, found
    from a list of the `end` lines made first; with none left, no later `begin` can close."""
    lines = text.split("\n")
    ends = [index for index, line in enumerate(lines) if UU_END.fullmatch(line)]
    kept: list[str] = []
    found: list[Attachment] = []
    index = next_end = 0
    while index < len(lines):
        begin = UU_BEGIN.fullmatch(lines[index]) if index + 1 < len(lines) else None
        while begin and next_end < len(ends) and ends[next_end] <= index:
            next_end += 1
        if begin is None or next_end == len(ends):
            kept.append(lines[index])
            index += 1
            continue
        close = ends[next_end]
        attachment = _uudecoded(begin[1], "\n".join(lines[index + 1 : close]))
        if attachment is None:  # not uuencoded after all: kept as text
            kept.extend(lines[index : close + 1])
        else:
            found.append(attachment)
            kept.append("")
        index = close + 1
    if not found:
        return text, found
    return BLANK_LINES.sub("\n\n", "\n".join(kept)).strip(), found


def _uudecoded(name: str, body: str) -> Attachment | None:
    try:
        content = b"".join(binascii.a2b_uu(line) for line in body.splitlines() if line.strip())
    except binascii.Error:
        return None
    filename = _safe_name(name) or "unnamed"
    kind = TYPES.guess_type(filename)[0] or "application/octet-stream"
    return Attachment(filename=filename, content_type=kind, content=content)


def _safe_name(name: str) -> str:
    """A file name without directories or control characters."""
    name = CONTROL.sub("", name).replace("\\", "/").rsplit("/", 1)[-1]
    return name.strip().strip(".")[:200]


def html_to_text(markup: str) -> str:
    """The text a mail reader shows: hidden elements and comments left out, a line break
    after each block, cells apart, <pre> keeping its lines, character references decoded."""
    pieces: list[str] = []
    in_pre = False
    for kind, value in _html_tokens(markup):
        if kind == "text":
            lines = value.split("\n") if in_pre else [value]
            pieces.append("\n".join(WHITESPACE.sub(" ", line) for line in lines))
        elif kind == "open" and value in ("br", "hr"):
            pieces.append("\n")
        elif kind == "open" and value == "pre":
            in_pre = True
        elif kind == "close":
            in_pre = in_pre and value != "pre"
            pieces.append("\n" if value in BLOCK_ENDS else " " if value in CELL_ENDS else "")
    text = html.unescape(LONG_REF.sub(_short_ref, "".join(pieces)))
    lines = [SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _html_tokens(markup: str) -> Iterator[tuple[str, str]]:
    """("text", text), ("open", name) and ("close", name), in order.

    Each search starts where the last token ended and ends where the next one does, or fails
    and ends the scan (nothing after it can close either); only a missing </head> or </title>
    is searched for once more, and remembered. So each character is read a bounded number of
    times, whatever the markup."""
    pos, unclosed = 0, set[str]()
    while pos < len(markup):
        tag = _markup_from(markup, pos)
        if tag is None:
            yield "text", markup[pos:]
            return
        if tag.start() > pos:
            yield "text", markup[pos : tag.start()]  # "a < b" too: a "<" opening nothing
        if tag[0] == "<!--":
            close = COMMENT_END.search(markup, tag.start() + 2)
            if close is None:
                return  # an open comment hides the rest, as in a browser
            pos = close.end()
            continue
        gt = GT.search(markup, tag.end())
        if gt is None:
            return  # the rest is inside a tag that never closes
        pos, name = gt.end(), (tag[2] or "").lower()
        if not name:  # <!doctype>, <?xml?>, </ >: nothing to show
            continue
        if tag[1]:
            yield "close", name
            continue
        if name in HIDDEN and name not in unclosed:
            closing = CLOSING[name].search(markup, pos)
            if closing is not None:
                pos = closing.end()
                continue
            if name in RAW_TEXT:
                return
            unclosed.add(name)
        yield "open", name


def _markup_from(markup: str, pos: int) -> re.Match[str] | None:
    """MARKUP.search from pos, a window at a time: one search over megabytes of "<" that open
    nothing would hold the GIL, and so stall the event loop, for all of its length. A window
    sees 4 characters past its end, enough to tell how a "<" near the end opens; the name of
    a tag found there may be cut, so it is matched again whole."""
    while pos < len(markup):
        window = pos + SEARCH_WINDOW
        tag = MARKUP.search(markup, pos, window + 4)
        if tag is not None and tag.start() < window:
            return MARKUP.match(markup, tag.start())
        pos = window
    return None


def _short_ref(ref: re.Match[str]) -> str:
    """A decimal character reference without its leading zeros; past Unicode, U+FFFD (what
    html.unescape gives too, but after int() over all the digits)."""
    digits, semicolon = ref.groups()
    if digits is None or len(digits) > 7:
        return "\ufffd"
    return f"&#{digits or '0'}{semicolon}"


class HeldKind(StrEnum):
    """Why a message is held, in a word (the reason says it in full)."""

    UNREADABLE = "unreadable"
    OVERSIZED = "oversized"
    OURS = "ours"
    SPAM = "spam"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    BULK = "bulk"
    LIST = "list"
    NULL_SENDER = "null_sender"
    STRANGER = "stranger"
    STORM = "storm"


@dataclass(frozen=True)
class Automated:
    """Mail no person wrote just now: what kind, and why we think so."""

    kind: str  # ours | spam | bounce | auto_reply | bulk | list | null_sender
    reason: str


@dataclass(frozen=True)
class SpamRule:
    """A score header (X-Spam-Score, X-Rspamd-Score, ...) above which mail is spam."""

    header: str = ""
    threshold: float = 5.0


def automated(mail: InboundMail, our_domain: str, spam: SpamRule | None = None) -> Automated | None:
    """Mail sent by a program (RFC 3834 and common practice), the most telling kind first:
    our own notices and bounces carry Auto-Submitted too, and vacation programs Precedence."""
    h = mail.headers
    if mail.sender_email.endswith("@" + our_domain) or "x-switchboard-notification" in h:
        return Automated("ours", "our own notification came back")
    spammed = _spam_reason(h, spam or SpamRule())
    if spammed:
        return Automated("spam", f"spam ({spammed})")
    if _is_bounce(mail):
        return Automated("bounce", "bounce (delivery status notification)")
    auto = h.get("auto-submitted", "no").strip().lower()
    if auto.split(";")[0].strip() != "no":
        return Automated(
            "auto_reply", f"auto-reply (Auto-Submitted: {h['auto-submitted'].strip()})"
        )
    if "x-autoreply" in h or "x-autorespond" in h:
        return Automated("auto_reply", "auto-reply (X-Autoreply)")
    precedence = h.get("precedence", "").strip().lower()
    if precedence == "auto_reply":
        return Automated("auto_reply", "auto-reply (Precedence: auto_reply)")
    if OUT_OF_OFFICE.match(mail.subject):
        return Automated("auto_reply", "auto-reply (out-of-office subject)")
    if precedence in ("bulk", "junk"):
        return Automated("bulk", f"bulk mail (Precedence: {h['precedence'].strip()})")
    if precedence == "list" or "list-id" in h or "list-unsubscribe" in h:
        return Automated("list", "mailing list mail (List-Id, List-Unsubscribe or Precedence)")
    if h.get("return-path", "").strip().replace(" ", "") == "<>":
        return Automated("null_sender", "null sender (Return-Path: <>)")
    return None


def loop_reason(mail: InboundMail, our_domain: str) -> str | None:
    """Why this message is automated mail, if it is (see `automated`)."""
    found = automated(mail, our_domain)
    return found.reason if found else None


def _spam_reason(h: Mapping[str, str], rule: SpamRule) -> str | None:
    if h.get("x-spam-flag", "").strip().lower() == "yes":
        return "X-Spam-Flag: YES"
    if h.get("x-spam-status", "").strip().lower().startswith("yes"):
        return "X-Spam-Status: Yes"
    score = h.get(rule.header.lower(), "").strip().split(" ")[0] if rule.header else ""
    try:
        over = float(score[:20]) > rule.threshold if score else False
    except ValueError:
        over = False
    return f"{rule.header}: {score} over {rule.threshold}" if over else None


def _is_bounce(mail: InboundMail) -> bool:
    content_type = mail.headers.get("content-type", "").lower()
    if "multipart/report" in content_type and "delivery-status" in content_type:
        return True
    if "multipart/report" in content_type and "report-type" not in content_type:
        return True
    sender = mail.sender_email.lower()
    if BOUNCE_SENDERS.match(sender) or sender in BARE_BOUNCE_SENDERS:
        return True
    return bool(BOUNCE_SUBJECT.match(mail.subject))


def bounce_status(mail: InboundMail) -> str | None:
    """What the report says went wrong (its Status and Diagnostic-Code), if it says."""
    for part in mail.attachments:
        if part.content_type == "message/delivery-status":
            report = part.content[:65_536].decode("utf-8", "replace")
            found = [m.group(1).strip() for m in DSN_FIELD.finditer(report)]
            if found:
                return " ".join(dict.fromkeys(found))[:300]
    return None


def number_in_text(mail: InboundMail) -> str | None:
    """A ticket number in the subject, else in the text (a bounce quoting our subject)."""
    match = NUMBER_IN_SUBJECT.search(mail.subject) or NUMBER_IN_SUBJECT.search(mail.text)
    return match.group(1).upper() if match else None


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
    return bool(ATTRIBUTION_END.search(line))


def _content(part: EmailMessage) -> str:
    """A text part decoded by its charset (see `decoded`)."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    declared = _params(part, "content-type").get("charset")
    if not declared and part.get_content_subtype() == "html":  # <meta charset=...>
        meta = META_CHARSET.search(data[:META_BYTES])
        declared = meta.group(1).decode("ascii") if meta else None
    return decoded(data, declared)


def decoded(data: bytes, declared: str | None, others: tuple[str, ...] = ()) -> str:
    """Bytes as text, never a U+FFFD where they can be read: the declared charset taken as its
    superset (what mailers that say gb2312 or iso-8859-1 really send), else UTF-8, else the
    message's other charsets; UTF-8 declared but broken: each byte UTF-8 cannot read as cp1252
    (a form that pasted Latin-1 into UTF-8); nothing declared: what a charset detector finds."""
    if data.isascii() and b"\x1b" not in data:  # escapes: ISO-2022 is 7-bit too
        return data.decode("ascii")
    codec = _codec(declared)
    for candidate in dict.fromkeys(c for c in (codec, "utf-8", *map(_codec, others)) if c):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeError):
            continue
    if codec in (None, "utf-8") and declared is None:
        found = charset_normalizer.from_bytes(data[:DETECT_BYTES]).best()
        guess = _codec(found.encoding) if found else None
        if guess and guess != "utf-8":
            try:
                return data.decode(guess)
            except (LookupError, UnicodeError):
                pass
    if codec not in (None, "utf-8"):
        return data.decode(codec, "replace")
    return data.decode("utf-8", CP1252_FALLBACK)


def _cp1252_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


CP1252_FALLBACK = "switchboard-cp1252"
codecs.register_error(CP1252_FALLBACK, _cp1252_bytes)


def _superset_label(word: re.Match[str]) -> str:
    label = word.group(1)
    superset = SUPERSETS.get(label.lower().split("*")[0])
    return f"=?{superset}?" if superset else word.group(0)


def _codec(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, as its superset; None for none we can use."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    try:
        codec = codecs.lookup(SUPERSETS.get(name, name)).name
    except LookupError:
        return None
    codec = SUPERSETS.get(codec, codec)
    if codec in SLOW_CODECS or codec in NOT_TEXT or codec == "ascii":
        return None  # ascii: 8-bit bytes under it are whatever the mailer really used
    return codec


def _unfolded(value: Any, charsets: tuple[str, ...] = ()) -> str:
    """A header's value as it came, on one line; its 8-bit bytes read as UTF-8, else in the
    message's own charsets (see `decoded`)."""
    raw = "".join(str(value).splitlines()).encode("utf-8", "surrogateescape")
    return decoded(raw, None, charsets)


def _header(msg: EmailMessage, name: str, charsets: tuple[str, ...]) -> str:
    """A header's decoded text; raw 8-bit bytes in it (which the standard parser turns into
    U+FFFD) read in the message's declared charsets instead."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            if isinstance(value, str) and any("\udc80" <= c <= "\udcff" for c in value):
                return " ".join(_unfolded(value, charsets).split())
            break
    return str(msg.get(name, "") or "")


def _charsets(msg: EmailMessage) -> tuple[str, ...]:
    """The charsets a message declares, top first (a few: they are tried in order)."""
    found = [_params(part, "content-type").get("charset") for part in _leaves(msg)[:MAX_PARTS_READ]]
    return tuple(dict.fromkeys(c for c in found if c))[:5]


def _angle(value: str) -> str:
    return value.strip().strip("<>").strip()
