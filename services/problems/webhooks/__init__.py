"""Signed webhooks: deficiency reports posted to the developers' bug tracker with retries, and
the signature check of what the tracker posts back.

A request is signed with HMAC-SHA256 over `<unix seconds>.<body>` and carries
`X-Switchboard-Signature: t=<unix seconds>,v1=<hex>`, the event type and the delivery id (the
receiver dedupes by it: delivery is at least once). What is still to send is a queue of
leased attempts (shared.deliveries); each delivery's history is a record of its own
(webhooks/deliveries.py).
"""

from .deliveries import (
    DEFAULT_POLICY,
    DELIVERIES,
    MAX_RETRY_AFTER,
    QUEUE,
    QUEUE_INDEXES,
    Delivery,
    DeliveryStore,
    MongoDeliveryStore,
    Taken,
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
    NotConfigured,
    sign,
    signature_header,
    verify,
)

__all__ = [
    "DEFAULT_POLICY",
    "DELIVERIES",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "MAX_RETRY_AFTER",
    "QUEUE",
    "QUEUE_INDEXES",
    "SIGNATURE_HEADER",
    "BadSignature",
    "Delivery",
    "DeliveryStore",
    "MongoDeliveryStore",
    "NotConfigured",
    "Taken",
    "WebhookSender",
    "backoff",
    "outcome_of",
    "retry_after",
    "sign",
    "signature_header",
    "verify",
]
