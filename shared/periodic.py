"""Rounds a service runs for as long as it runs (sweeps, predictions, publications)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    interval: float, step: Callable[[], Awaitable[object]], what: str, at_once: bool = False
) -> None:
    """`step` every `interval` seconds (the first at once, or after one interval); a round that
    fails (an outage) is logged and the next one tries again."""
    if not at_once:
        await asyncio.sleep(interval)
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; the next round tries again", what)
        await asyncio.sleep(interval)
