"""Signed webhooks: deficiency reports posted to the developers' bug tracker with retries, and
the signature check of what the tracker posts back.

A request is signed with HMAC-SHA256 over `<unix seconds>.<body>` and carries
`X-Switchboard-Signature: t=<unix seconds>,v1=<hex>`, the event type and the delivery id (the
receiver dedupes by it: delivery is at least once).

Storage, shaped by FerretDB v1 (every filter scans, even on `_id`; updates take no lock; the only
exclusive operation is inserting a unique `_id`):
- `webhook_deliveries`: the history, one document per delivery (`_id` = delivery id). Written
  twice: the keyed insert of `enqueue` (the idempotency key) and the final outcome.
- `webhook_pending`: the working copy of each delivery still to send, same shape. The loop reads
  only this small collection and never scans the history.
- `webhook_attempts`: `{_id: "<delivery id>#<n>", at}`, the claim of attempt n (see WebhookSender).
The payload is stored as its JSON text, so any JSON (nested arrays, keys with dots) fits.
"""

from .deliveries import (
    ATTEMPTS,
    DELIVERIES,
    MAX_RETRY_AFTER,
    PENDING,
    Delivery,
    DeliveryStore,
    MongoDeliveryStore,
    backoff,
    outcome_of,
    retry_after,
)
from .sender import WebhookSender
from .signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    BadSignature,
    sign,
    signature_header,
    verify,
)

__all__ = [
    "ATTEMPTS",
    "DELIVERIES",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_RETRY_AFTER",
    "PENDING",
    "SIGNATURE_HEADER",
    "BadSignature",
    "Delivery",
    "DeliveryStore",
    "MongoDeliveryStore",
    "WebhookSender",
    "backoff",
    "outcome_of",
    "retry_after",
    "sign",
    "signature_header",
    "verify",
]
