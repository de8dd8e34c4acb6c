"""Reporting's domain metrics."""

from prometheus_client import Counter

EVENTS_COUNTED = Counter(
    "helpdesk_reporting_events_counted_total", "Events applied to counters", ["type"]
)
