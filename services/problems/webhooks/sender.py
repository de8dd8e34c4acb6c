"""The sender: posts what is due, each attempt claimed by one replica."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import httpx

from shared.clock import Clock

from .. import metrics
from .deliveries import Delivery, DeliveryStore, backoff, outcome_of, retry_after
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)
EXCERPT = 200
KEEP_CLAIMS = timedelta(days=1)
PURGE_EVERY = timedelta(hours=1)


class WebhookSender:
    """Posts what is due, each attempt by one replica.

    Before attempt n a replica inserts the claim `<delivery id>#<n>` and posts only if the insert
    succeeded. A compare-and-set on the delivery itself would not do: FerretDB v1 applies
    updates without a lock, so two replicas could both win it; inserting a unique `_id` is
    exclusive on FerretDB and MongoDB alike. Only the holder of claim n writes the outcome of
    attempt n, so a replica that claims n+1 after reading `attempts == n` works on current
    data; claims are kept for a day, so an old read can never claim a posted attempt again.
    A claim older than twice the timeout with no outcome was left by a replica that died
    mid-attempt: it counts as a failed attempt and the next one is claimed. A crash between the
    POST and the record therefore posts again: receivers dedupe by X-Switchboard-Delivery.
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
        self._store = store
        self._http = http
        self._secret = secret
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = (backoff_base, backoff_cap)
        self._timeout = timeout
        self._batch = batch
        self._concurrency = concurrency

    async def send_due(self) -> int:
        """Try every due delivery once (up to a batch); returns how many were posted."""
        due = await self._store.due(self._clock.now(), self._batch)
        gate = asyncio.Semaphore(self._concurrency)

        async def one(delivery: Delivery) -> bool:
            async with gate:
                return await self._deliver(delivery)

        results = await asyncio.gather(*(one(d) for d in due), return_exceptions=True)
        posted = 0
        for delivery, result in zip(due, results, strict=True):
            if isinstance(result, Exception):  # its copy and claim stay: a later round retries
                log.error("webhook delivery %s not settled", delivery.id, exc_info=result)
            elif isinstance(result, BaseException):
                raise result
            else:
                posted += result
        return posted

    async def run(self, interval: float) -> None:
        """The delivery loop, for as long as the service runs; hourly it drops old claims."""
        recovered = False
        purged_at: datetime | None = None
        while True:
            try:
                if not recovered:
                    await self._store.recover()
                    recovered = True
                await self.send_due()
                now = self._clock.now()
                if purged_at is None or now - purged_at >= PURGE_EVERY:
                    await self._store.purge_claims(now - KEEP_CLAIMS)
                    purged_at = now
            except Exception:  # an outage: every pending delivery keeps its copy
                log.exception("webhook round failed")
            await asyncio.sleep(interval)

    async def _deliver(self, delivery: Delivery) -> bool:
        claimed = await self._claim(delivery)
        if claimed is None:
            return False
        if claimed.attempts >= self._max_attempts:  # interrupted attempts used them up
            await self._settle(claimed.model_copy(update={"status": "failed"}))
            return False
        await self._attempt(claimed)
        return True

    async def _claim(self, delivery: Delivery) -> Delivery | None:
        """The delivery with attempt `attempts + 1` claimed here; None if it is not ours."""
        attempt = delivery.attempts + 1
        stale = timedelta(seconds=2 * self._timeout)
        while not await self._store.claim_attempt(delivery.id, attempt, self._clock.now()):
            claimed_at = await self._store.claimed_at(delivery.id, attempt)
            if claimed_at is None or self._clock.now() - claimed_at < stale:
                return None  # another replica is posting it
            fresh = await self._store.get(delivery.id)
            if fresh is not None and fresh.status != "pending":
                await self._store.record(fresh)  # settled; a crash kept its pending copy
                return None
            if fresh is None or fresh.attempts >= attempt:
                return None  # our read was older than that attempt's outcome
            update = {"attempts": attempt, "last_error": "attempt interrupted"}
            delivery = fresh.model_copy(update=update)
            attempt += 1
        return delivery

    async def _attempt(self, delivery: Delivery) -> None:
        now = self._clock.now()
        tried = delivery.model_copy(update={"attempts": delivery.attempts + 1})
        body = delivery.body()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(self._secret, int(now.timestamp()), body),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: delivery.id,
        }
        try:
            response = await self._http.post(
                delivery.url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            error = f"bad URL: {exc}"[:EXCERPT]
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))
            return
        except httpx.TransportError as exc:  # refused, reset, timed out
            await self._retry(tried, f"{type(exc).__name__}: {exc}"[:EXCERPT], None)
            return
        outcome = outcome_of(response.status_code)
        error = f"HTTP {response.status_code}: {response.text[:EXCERPT]}"
        if outcome == "delivered":
            done = {"status": "delivered", "delivered_at": now, "last_error": None}
            await self._settle(tried.model_copy(update=done))
        elif outcome == "retry":
            await self._retry(tried, error, retry_after(response.headers.get("Retry-After"), now))
        else:
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))

    async def _retry(self, tried: Delivery, error: str, hint: timedelta | None) -> None:
        if tried.attempts >= self._max_attempts:
            await self._settle(tried.model_copy(update={"status": "failed", "last_error": error}))
            return
        wait = max(backoff(tried.attempts, *self._backoff), hint or timedelta(0))
        at = self._clock.now() + wait
        await self._store.record(
            tried.model_copy(update={"next_attempt_at": at, "last_error": error})
        )
        metrics.WEBHOOK_DELIVERIES.labels("retried").inc()

    async def _settle(self, delivery: Delivery) -> None:
        await self._store.record(delivery)
        metrics.WEBHOOK_DELIVERIES.labels(delivery.status).inc()
        if delivery.status == "failed":
            log.warning(
                "webhook %s to %s failed after %d attempts: %s",
                delivery.id,
                delivery.url,
                delivery.attempts,
                delivery.last_error,
            )
