"""Lists take `limit` and `cursor`; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from .errors import DomainError

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the last page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for the next page")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise DomainError("cursor is not one this API gave out") from exc


MAX_SEQUENCE = 2**62
"""Sequence cursors are non-negative and below this (a 64-bit store integer, with room)."""


def decode_seq_cursor(cursor: str | None) -> int | None:
    """A cursor this API gave out for a position in a numbered sequence; 400 for anything else
    (not base64, not a number, out of range)."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) >= MAX_SEQUENCE:
        raise DomainError("cursor is not one this API gave out")
    return int(value)
