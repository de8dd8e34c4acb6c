"""SLA's domain metrics."""

from prometheus_client import Counter, Histogram

CLOCKS_STARTED = Counter("helpdesk_sla_clocks_started_total", "SLA clocks started", ["policy"])
OUTCOMES = Counter(
    "helpdesk_sla_outcomes_total", "Warnings, breaches and targets met", ["kind", "target"]
)
FIRE_DELAY = Histogram(
    "helpdesk_sla_fire_delay_seconds",
    "From a clock's check time to the scheduler acting on it",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 30, 300),
)
