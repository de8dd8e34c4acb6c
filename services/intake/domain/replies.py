"""Replies that prove themselves, pure: the reply token our notices carry, what a receiving
server's Authentication-Results say about a sender, and the digest that tells a message
delivered twice from a different message under the same Message-ID.

A notice about a ticket carries the ticket's token twice: in its Reply-To, as a sub-address
(support+hd42-<mac>@...), and in its Message-ID (<note>.hd42-<mac>@...), which mail clients
put into In-Reply-To and References. The mac is an HMAC of the ticket's number under
HELPDESK_REPLY_TOKEN_SECRET, so only someone who received the notice can name it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

from .mail import InboundMail

TOKEN = re.compile(r"\bhd(\d{1,18})-([0-9a-f]{20})\b")  # lower case: mailers fold local parts
MAX_TEXT_TOKENS = 5
TOKEN_SUFFIX = re.compile(r"\.hd\d{1,18}-[0-9a-f]{20}$")  # ours, after a notice's id
MAC_HEX = 20  # 80 bits: guessing one takes more mail than any server accepts
MAX_RESULTS_HEADERS = 50  # more Authentication-Results than this are not read
Verdict = Literal["pass", "fail", "none"]


@dataclass(frozen=True)
class ReplyTokens:
    """Issues and checks tokens; without a secret it issues none and accepts none."""

    secret: bytes

    @property
    def enabled(self) -> bool:
        return bool(self.secret)

    def token(self, seq: int) -> str | None:
        if not self.enabled:
            return None
        return f"hd{seq}-{self._mac(seq)}"

    def seq_of(self, token: str) -> int | None:
        """The ticket sequence number a token names, if its mac is ours."""
        found = TOKEN.fullmatch(token.lower())
        if found is None or not self.enabled:
            return None
        seq = int(found.group(1))
        return seq if hmac.compare_digest(found.group(2), self._mac(seq)) else None

    def found_in(self, mail: InboundMail, our_domains: Iterable[str]) -> list[int]:
        """The tickets named by valid tokens in the addresses the message was sent to (a
        sub-address at one of our domains) and in the Message-IDs it answers (ours)."""
        domains = {d.lower().rstrip(".") for d in our_domains if d}
        places = [a for a in mail.recipients if _domain(a) in domains and "+" in a]
        places += [m for m in mail.references if _domain(m) in domains]
        return self.found_in_text(" ".join(places))

    def found_in_text(self, text: str) -> list[int]:
        """Tickets named by valid tokens anywhere in a text (a bounce quoting our headers), the
        first few."""
        seqs: list[int] = []
        for candidate in TOKEN.finditer(text.lower()):
            seq = self.seq_of(candidate.group(0))
            if seq is not None and seq not in seqs:
                seqs.append(seq)
            if len(seqs) >= MAX_TEXT_TOKENS:
                break
        return seqs

    def _mac(self, seq: int) -> str:
        digest = hmac.new(self.secret, f"reply-token:{seq}".encode(), hashlib.sha256)
        return digest.hexdigest()[:MAC_HEX]


def reply_address(sender: str, token: str) -> str:
    """Our sender's address with the token as its sub-address, its display name kept."""
    name, address = parseaddr(sender)
    local, _, domain = address.partition("@")
    tokened = f"{local.split('+')[0]}+{token}@{domain}"
    return f"{name} <{tokened}>" if name else tokened


def our_message_id(note_id: str, token: str | None, domain: str) -> str:
    return f"{note_id}.{token}@{domain}" if token else f"{note_id}@{domain}"


def auth_verdict(values: Sequence[str], sender: str, trusted: Iterable[str]) -> Verdict:
    """What the receiving server recorded about the sender (RFC 8601): "pass" when SPF,
    DKIM or DMARC passed for the sender's domain, "fail" when it recorded results and none
    passed for it, "none" when no server we trust recorded any.

    Only the topmost header from a trusted server counts (authserv-id equal to one named,
    or below it): the receiving server adds its header above everything that came with the
    message, and is expected to remove copies claiming its name (RFC 8601, section 5)."""
    domain = _domain(sender)
    ours = {t.lower().rstrip(".") for t in trusted if t}
    for value in values[:MAX_RESULTS_HEADERS]:
        server, results = parse_results(value)
        if not any(server == t or server.endswith("." + t) for t in ours):
            continue
        recorded = [r for r in results if r.method in ("spf", "dkim", "dmarc")]
        if not recorded:
            return "none"
        passed = any(r.result == "pass" and r.aligned(domain) for r in recorded)
        return "pass" if passed else "fail"
    return "none"


@dataclass(frozen=True)
class Result:
    method: str
    result: str
    properties: dict[str, str]

    def aligned(self, domain: str) -> bool:
        """The result is about the sender's domain (itself, or a domain it lies under)."""
        keys = {
            "spf": ("smtp.mailfrom", "smtp.helo"),
            "dkim": ("header.d", "header.i"),
            "dmarc": ("header.from",),
        }[self.method]
        return any(_aligned(_domain(self.properties.get(k, "")), domain) for k in keys)


def parse_results(value: str) -> tuple[str, list[Result]]:
    """An Authentication-Results value: its authserv-id and its results, comments dropped.
    One pass over the text; the header's length is bounded by the parser's limits."""
    clauses = _uncommented(value).split(";")
    server = (clauses[0].split() or [""])[0].lower().rstrip(".")
    results = []
    for clause in clauses[1:]:
        words = clause.split()
        if not words or "=" not in words[0]:
            continue
        method, _, result = words[0].partition("=")
        if not method.split("/")[0]:
            continue
        props = {}
        for word in words[1:]:
            key, eq, val = word.partition("=")
            if eq:
                props[key.lower()] = val.strip('"').lower()
        results.append(Result(method.split("/")[0].lower(), result.lower(), props))
    return server, results


def _uncommented(value: str) -> str:
    """Text outside RFC 5322 comments (nested parentheses, backslash escapes)."""
    kept: list[str] = []
    depth, escaped = 0, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            kept.append(char)
    return "".join(kept)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip("<>").lower().rstrip(".")


def _aligned(found: str, domain: str) -> bool:
    """Relaxed alignment: the same domain, or one under the other (both with a dot)."""
    if not found or not domain or "." not in found or "." not in domain:
        return False
    return found == domain or found.endswith("." + domain) or domain.endswith("." + found)


def content_digest(mail: InboundMail) -> str:
    """What makes a message the same message: sender, date, subject, decoded text and files."""
    whole = hashlib.sha256()
    for piece in (mail.sender_email, mail.headers.get("date", "").strip(), mail.subject, mail.text):
        whole.update(piece.encode("utf-8", "surrogatepass"))
        whole.update(b"\x00")
    for part in mail.attachments:
        whole.update(f"{part.filename}\x00{part.content_type}\x00".encode("utf-8", "replace"))
        whole.update(hashlib.sha256(part.content).digest())
    return whole.hexdigest()
