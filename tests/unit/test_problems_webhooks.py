"""Webhook signing, signature checks and the retry schedule, as pure functions; the loop's
survival of a failing round."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.problems.webhooks import (
    MAX_RETRY_AFTER,
    QUEUE,
    QUEUE_INDEXES,
    BadSignature,
    Delivery,
    Taken,
    WebhookSender,
    backoff,
    outcome_of,
    retry_after,
    sign,
    signature_header,
    verify,
)
from shared.clock import FixedClock
from shared.deliveries import DeliveryQueue, RetryPolicy

SECRET = "topsecret"
BODY = b'{"a":1}'
T = 1_700_000_000
NOW = datetime.fromtimestamp(T, UTC)


def test_sign_is_hmac_sha256_over_the_timestamp_a_dot_and_the_body() -> None:
    # computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac topsecret
    expected = "6a939b0c71853d606167625a15168ee9188c6a511c773ef4f42d307f3849e50f"
    assert sign(SECRET, T, BODY) == expected
    assert signature_header(SECRET, T, BODY) == f"t={T},v1={expected}"


@pytest.mark.parametrize("skew", [timedelta(0), timedelta(minutes=5), timedelta(minutes=-5)])
def test_verify_accepts_a_signature_within_the_tolerance(skew: timedelta) -> None:
    verify(SECRET, signature_header(SECRET, T, BODY), BODY, NOW + skew)


def test_verify_accepts_any_matching_signature_while_a_secret_is_rotated() -> None:
    header = f"t={T},v1={sign('old', T, BODY)},v1={sign(SECRET, T, BODY)}"
    verify(SECRET, header, BODY, NOW)


def _reason(secret: str, header: str | None, body: bytes, now: datetime) -> str:
    with pytest.raises(BadSignature) as caught:
        verify(secret, header, body, now)
    return caught.value.reason


@pytest.mark.parametrize("header", [None, ""])
def test_verify_rejects_a_missing_header(header: str | None) -> None:
    assert _reason(SECRET, header, BODY, NOW) == "missing signature header"


def test_verify_rejects_a_wrong_secret_and_a_tampered_body() -> None:
    header = signature_header(SECRET, T, BODY)
    assert _reason("another", header, BODY, NOW) == "signature mismatch"
    assert _reason(SECRET, header, b'{"a":2}', NOW) == "signature mismatch"


@pytest.mark.parametrize("skew", [timedelta(minutes=5, seconds=1), timedelta(minutes=-6)])
def test_verify_rejects_a_stale_or_future_timestamp(skew: timedelta) -> None:
    header = signature_header(SECRET, T, BODY)
    assert _reason(SECRET, header, BODY, NOW + skew) == "timestamp outside the tolerance"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"v1={sign(SECRET, T, BODY)}",
        f"t={T}",
        f"t=abc,v1={sign(SECRET, T, BODY)}",
        f"t=-{T},v1={sign(SECRET, T, BODY)}",
        "t=\u0661\u0662,v1=00",
        "t=999999999999999999999,v1=00",
    ],
)
def test_verify_rejects_a_malformed_header(header: str) -> None:
    assert _reason(SECRET, header, BODY, NOW).startswith("malformed")


def test_verify_compares_a_non_ascii_signature_without_crashing() -> None:
    assert _reason(SECRET, f"t={T},v1=\u00e9\u00e9", BODY, NOW) == "signature mismatch"


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    waits = [backoff(n, 2.0, 600.0).total_seconds() for n in range(1, 11)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]
    assert backoff(10_000, 2.0, 600.0) == timedelta(minutes=10)
    with pytest.raises(ValueError):
        backoff(0, 2.0, 600.0)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (202, "delivered"),
        (204, "delivered"),
        (301, "failed"),
        (400, "failed"),
        (401, "failed"),
        (404, "failed"),
        (408, "retry"),
        (410, "failed"),
        (422, "failed"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
    ],
)
def test_outcome_of_an_answer(status: int, outcome: str) -> None:
    assert outcome_of(status) == outcome


def test_retry_after_reads_seconds_and_dates_within_bounds() -> None:
    assert retry_after("30", NOW) == timedelta(seconds=30)
    assert retry_after(" 0 ", NOW) == timedelta(0)
    assert retry_after("99999999999999", NOW) == MAX_RETRY_AFTER
    assert retry_after(format_datetime(NOW + timedelta(minutes=2), usegmt=True), NOW) == (
        timedelta(minutes=2)
    )
    assert retry_after(format_datetime(NOW - timedelta(minutes=2), usegmt=True), NOW) == (
        timedelta(0)
    )
    assert retry_after(None, NOW) is None
    assert retry_after("soon", NOW) is None


def test_a_delivery_body_is_compact_sorted_json_whatever_the_key_order() -> None:
    one = Delivery.new("d", "http://x", "e", {"b": [1, {"y": 2, "x": "é"}], "a": None}, NOW)
    two = Delivery.new("d", "http://x", "e", {"a": None, "b": [1, {"x": "é", "y": 2}]}, NOW)
    assert one.body() == two.body() == '{"a":null,"b":[1,{"x":"é","y":2}]}'.encode()


class FlakyStore:
    """Nothing is due; the first rounds fail as in an outage."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.rounds = 0
        self.done = asyncio.Event()

    def with_policy(self, policy: RetryPolicy) -> FlakyStore:
        return self

    async def enqueue(self, delivery: Delivery) -> bool:
        return False

    async def take(self, now: datetime) -> Taken | None:
        self.rounds += 1
        if self.rounds <= self.failures:
            raise ConnectionError("database unreachable")
        self.done.set()
        return None

    async def retry(self, taken: Taken, now: datetime, error: str, wait: timedelta) -> bool:
        return False

    async def settle(self, taken: Taken, outcome: Delivery) -> None:
        pass

    async def get(self, delivery_id: str) -> Delivery | None:
        return None


async def test_the_delivery_loop_survives_a_failing_round(caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore(failures=2)
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(store, http, SECRET, FixedClock(NOW))
        task = asyncio.create_task(sender.run(interval=0.01))
        try:
            async with asyncio.timeout(5):
                await store.done.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert store.rounds >= 3
    assert caplog.text.count("webhook round failed") == 2


async def test_the_queue_index_declared_is_the_one_the_delivery_queue_needs() -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(connect=False)
    try:
        async with httpx.AsyncClient() as http:
            policy = WebhookSender(FlakyStore(0), http, SECRET, FixedClock(NOW)).policy
        assert DeliveryQueue(client["problems"], QUEUE, policy).indexes() == QUEUE_INDEXES
    finally:
        await client.close()


async def test_the_lease_of_an_attempt_outlasts_its_request() -> None:
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(FlakyStore(0), http, SECRET, FixedClock(NOW), timeout=7)
    assert sender.policy.lease == timedelta(seconds=14)
    assert (sender.policy.max_attempts, sender.policy.backoff_base) == (8, 2.0)
