"""Signing what is posted, and checking the signature of what is posted back."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

SIGNATURE_HEADER = "X-Switchboard-Signature"
EVENT_HEADER = "X-Switchboard-Event"
DELIVERY_HEADER = "X-Switchboard-Delivery"


class NotConfigured(Exception):
    """No secret is set: nothing posted to us can be told from a forgery, so all is refused
    (an HMAC with an empty key is one anybody can make)."""


class BadSignature(Exception):
    """An incoming webhook whose signature header is missing, malformed, out of time or wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of `<timestamp>.` followed by the body."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """Accept a signed request or raise BadSignature; any of several `v1` values may match
    (a sender rotating its secret signs with both). NotConfigured without a secret."""
    if not secret:
        raise NotConfigured("no webhook secret is configured")
    if not header:
        raise BadSignature("missing signature header")
    timestamp, signatures = _parse(header)
    if abs(now - datetime.fromtimestamp(timestamp, UTC)) > tolerance:
        raise BadSignature("timestamp outside the tolerance")
    expected = sign(secret, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures):
        raise BadSignature("signature mismatch")


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise BadSignature("malformed signature header")
        if key == "t":
            if not (value.isascii() and value.isdigit() and len(value) <= 11):
                raise BadSignature("malformed signature timestamp")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("malformed signature header")
    return timestamp, signatures
