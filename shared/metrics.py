"""Metrics every service exports, labelled by service; domain metrics live in each service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "helpdesk_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
)
HANDLER_LATENCY = Histogram(
    "helpdesk_handler_duration_seconds",
    "Time to handle one consumed event",
    ["service", "topic", "type"],
)
EVENTS_IN = Counter(
    "helpdesk_events_in_total", "Events consumed and handled", ["service", "topic", "type"]
)
EVENTS_OUT = Counter("helpdesk_events_out_total", "Events published", ["service", "topic", "type"])
EVENTS_FAILED = Counter(
    "helpdesk_events_failed_total", "Handler attempts that raised", ["service", "topic", "reason"]
)
EVENTS_DEAD_LETTERED = Counter(
    "helpdesk_events_dead_lettered_total",
    "Events sent to the dead-letter topic",
    ["service", "topic"],
)
DEAD_LETTER_STREAK = Gauge(
    "helpdesk_consumer_dead_letter_streak",
    "Messages dead-lettered in a row since the consumer last handled one",
    ["service"],
)
EVENTS_DUPLICATE = Counter(
    "helpdesk_events_duplicate_total", "Redelivered events skipped", ["service", "topic"]
)
CONSUMER_LAG = Gauge(
    "helpdesk_consumer_lag", "Messages behind the partition end", ["service", "topic", "partition"]
)
OUTBOX_PENDING = Gauge(
    "helpdesk_outbox_pending", "Events written but not yet relayed, at the last sweep", ["service"]
)
