"""Lists take `limit` and `cursor`; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection

from .db import Document
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


Key = str | int | datetime
Position = tuple[Key, ...]
"""Where a page ended: the values of its last item's sort fields."""


@dataclass(frozen=True)
class Order:
    """How a list is sorted: (field, direction, type of its values) from first to last, the last
    field unique (the id), so a position names one place in the list whatever else is stored.
    Direction is pymongo's: 1 ascending, -1 descending."""

    keys: tuple[tuple[str, int, type[Key]], ...]

    @property
    def sort(self) -> list[tuple[str, int]]:
        return [(name, direction) for name, direction, _ in self.keys]

    def decode(self, cursor: str | None) -> Position | None:
        """The position a cursor of this list names; 400 for any other (not base64, not the
        fields of this list, a value of another type or out of range)."""
        value = decode_cursor(cursor)
        if value is None:
            return None
        try:
            parts = json.loads(value)
        except ValueError:
            raise DomainError(NOT_OURS) from None
        if not isinstance(parts, list) or len(parts) != len(self.keys):
            raise DomainError(NOT_OURS)
        return tuple(_key(part, kind) for part, (_, _, kind) in zip(parts, self.keys, strict=True))

    def after(self, position: Position | None) -> Document:
        """The filter for what comes after `position` in this order (keyset paging: with an
        index on the sort fields the store reads only the page)."""
        if position is None:
            return {}
        clauses: list[Document] = []
        for n, (name, direction, _) in enumerate(self.keys):
            clause: Document = {
                earlier: position[i] for i, (earlier, _, _) in enumerate(self.keys[:n])
            }
            clause[name] = {"$gt" if direction > 0 else "$lt": position[n]}
            clauses.append(clause)
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}

    def position_of(self, doc: Mapping[str, Any]) -> Position:
        return tuple(doc[name] for name, _, _ in self.keys)


NOT_OURS = "cursor is not one this API gave out"
BY_ID = Order((("_id", 1, str),))  # stored documents by their key
BY_ITEM_ID = Order((("id", 1, str),))  # a list held whole by its items' `id` (slice_of)


def _key(part: object, kind: type[Key]) -> Key:
    if kind is str and isinstance(part, str) and len(part) <= 200:
        return part
    if kind is int and type(part) is int and 0 <= part < MAX_SEQUENCE:
        return part
    if kind is datetime and isinstance(part, str):
        try:
            moment = datetime.fromisoformat(part)
        except ValueError:
            raise DomainError(NOT_OURS) from None
        if moment.tzinfo is not None:
            return moment
    raise DomainError(NOT_OURS)


@dataclass(frozen=True)
class Slice(Generic[T]):
    """A store's page: its items, and the position of its last one when more follow."""

    items: list[T]
    more_after: Position | None = None


def page(found: Slice[T]) -> Page[T]:
    """The API's page of a store's slice: the cursor is the last position, encoded."""
    if found.more_after is None:
        return Page[T](items=found.items)
    values = [v.isoformat() if isinstance(v, datetime) else v for v in found.more_after]
    return Page[T](items=found.items, next_cursor=encode_cursor(json.dumps(values)))


async def read_slice(
    collection: AsyncCollection[Document],
    order: Order,
    limit: int,
    after: Position | None,
    where: Document | None = None,
    projection: Document | None = None,
) -> Slice[Document]:
    """Up to `limit` documents after `after` in `order`: one query, sorted and limited by the
    store, reading one more document than it returns only to know whether more follow."""
    query = {**(where or {}), **order.after(after)}
    found = collection.find(query, projection).sort(order.sort).limit(limit + 1)
    docs = await found.to_list(limit + 1)
    more = order.position_of(docs[limit - 1]) if len(docs) > limit else None
    return Slice(docs[:limit], more)


@dataclass(frozen=True)
class PageQuery:
    """A list's query parameters `limit` and `cursor` (a route takes them as `Paging`)."""

    limit: int
    cursor: str | None

    def after(self, order: Order) -> Position | None:
        """Where the page starts in `order`; 400 for a cursor this list never gave out."""
        return order.decode(self.cursor)


def page_query(limit: Limit = 50, cursor: Cursor = None) -> PageQuery:
    return PageQuery(limit, cursor)


Paging = Annotated[PageQuery, Depends(page_query)]


def slice_of(
    items: Iterable[T],
    order: Order,
    paging: PageQuery,
    key: Callable[[T], Position] | None = None,
) -> Slice[T]:
    """A page of a small list held whole anyway (one configuration document, a catalogue,
    defaults merged with overrides), ascending by `key` (default: the order's fields as the
    items' attributes), unique per item."""
    by = key or (lambda item: tuple(getattr(item, name) for name, _, _ in order.keys))
    after, limit = paging.after(order), paging.limit
    rest = sorted((i for i in items if after is None or by(i) > after), key=by)
    return Slice(rest[:limit], by(rest[limit - 1]) if len(rest) > limit else None)
