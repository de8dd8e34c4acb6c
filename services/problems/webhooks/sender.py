"""The sender: posts what is due, each attempt leased to one replica."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import httpx

from shared.clock import Clock
from shared.deliveries import RetryPolicy

from .. import metrics
from .deliveries import Delivery, DeliveryStore, Taken, backoff, outcome_of, retry_after
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)
EXCERPT = 200


class WebhookSender:
    """Posts what is due, each attempt by one replica.

    An attempt is leased from the queue (shared.deliveries) for twice the request timeout:
    no other replica takes it meanwhile, and if this one dies mid-attempt another takes the
    next attempt when the lease runs out (the interrupted one counts). A crash between the
    POST and the outcome therefore posts again: receivers dedupe by X-Switchboard-Delivery.
    """

    def __init__(
        self,
        store: DeliveryStore,
        http: httpx.AsyncClient,
        secret: str,
        clock: Clock,
        *,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        timeout: float = 10.0,
        batch: int = 100,
        concurrency: int = 4,
    ) -> None:
        self.policy = RetryPolicy(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            lease=timedelta(seconds=2 * timeout),
        )
        self._store = store.with_policy(self.policy)
        self._http = http
        self._secret = secret
        self._clock = clock
        self._timeout = timeout
        self._batch = batch
        self._concurrency = concurrency

    async def send_due(self) -> int:
        """Try due deliveries once each (up to a batch, `concurrency` at a time); returns how
        many were posted. An attempt is leased only when a slot is free, so no lease runs
        out while it waits; what is in flight finishes even when taking the next fails."""
        gate = asyncio.Semaphore(self._concurrency)
        running: list[asyncio.Task[bool]] = []
        try:
            for _ in range(self._batch):
                await gate.acquire()
                try:
                    taken = await self._store.take(self._clock.now())
                except BaseException:
                    gate.release()
                    raise
                if taken is None:
                    gate.release()
                    break
                running.append(asyncio.create_task(self._one(taken, gate)))
        finally:
            posted = await asyncio.gather(*running)
        return sum(posted)

    async def run(self, interval: float) -> None:
        """The delivery loop, for as long as the service runs."""
        while True:
            try:
                await self.send_due()
            except Exception:  # an outage: every pending delivery stays queued
                log.exception("webhook round failed")
            await asyncio.sleep(interval)

    async def _one(self, taken: Taken, gate: asyncio.Semaphore) -> bool:
        try:
            return await self._deliver(taken)
        except Exception:  # its lease runs out and a later round tries again
            log.exception("webhook delivery %s not settled", taken.delivery.id)
            return False
        finally:
            gate.release()

    async def _deliver(self, taken: Taken) -> bool:
        if taken.attempt.exhausted:  # interrupted attempts used them all up
            made = taken.attempt.number - 1
            error = taken.attempt.last_error or "attempt interrupted"
            update = {"status": "failed", "attempts": made, "last_error": error}
            await self._settle(taken, taken.delivery.model_copy(update=update))
            return False
        await self._attempt(taken)
        return True

    async def _attempt(self, taken: Taken) -> None:
        now = self._clock.now()
        tried = taken.delivery
        body = tried.body()
        headers = self._headers(tried, body, now)
        try:
            response = await self._http.post(
                tried.url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            error = f"bad URL: {exc}"[:EXCERPT]
            await self._fail(taken, error)
            return
        except httpx.TransportError as exc:  # refused, reset, timed out
            await self._retry(taken, f"{type(exc).__name__}: {exc}"[:EXCERPT], None)
            return
        outcome = outcome_of(response.status_code)
        error = f"HTTP {response.status_code}: {response.text[:EXCERPT]}"
        if outcome == "delivered":
            done = {"status": "delivered", "delivered_at": now, "last_error": None}
            await self._settle(taken, tried.model_copy(update=done))
        elif outcome == "retry":
            await self._retry(taken, error, retry_after(response.headers.get("Retry-After"), now))
        else:
            await self._fail(taken, error)

    def _headers(self, delivery: Delivery, body: bytes, now: datetime) -> dict[str, str]:
        """Signed when a secret is set; without one a signature made with the empty key would
        only look like proof, so none is sent (the tracker can tell it was not configured)."""
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature_header(self._secret, int(now.timestamp()), body)
        return headers

    async def _retry(self, taken: Taken, error: str, hint: timedelta | None) -> None:
        number = taken.attempt.number
        if number >= self.policy.max_attempts:
            await self._fail(taken, error)
            return
        wait = backoff(number, self.policy.backoff_base, self.policy.backoff_cap)
        wait = max(wait, hint or timedelta(0))
        if await self._store.retry(taken, self._clock.now(), error, wait):
            metrics.WEBHOOK_DELIVERIES.labels("retried").inc()
        else:  # the lease ran out and another replica holds the delivery now
            log.warning("webhook %s: attempt %d outlived its lease", taken.delivery.id, number)

    async def _fail(self, taken: Taken, error: str) -> None:
        failed = {"status": "failed", "last_error": error}
        await self._settle(taken, taken.delivery.model_copy(update=failed))

    async def _settle(self, taken: Taken, delivery: Delivery) -> None:
        await self._store.settle(taken, delivery)
        metrics.WEBHOOK_DELIVERIES.labels(delivery.status).inc()
        if delivery.status == "failed":
            log.warning(
                "webhook %s to %s failed after %d attempts: %s",
                delivery.id,
                delivery.url,
                delivery.attempts,
                delivery.last_error,
            )
