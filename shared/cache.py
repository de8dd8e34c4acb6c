"""A value a service reads now and then rather than on every use (its configuration): read at
most every `ttl` seconds, so a change made on one replica reaches the others within that."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Expiring(Generic[T]):
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._held: tuple[float, T] | None = None

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        held = self._held
        if held is not None and time.monotonic() - held[0] < self._ttl:
            return held[1]
        value = await load()
        self._held = (time.monotonic(), value)
        return value

    def forget(self) -> None:
        """This replica changed the value: read it again at the next use."""
        self._held = None
