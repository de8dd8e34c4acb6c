"""SLA's domain metrics."""

from prometheus_client import Counter

CLOCKS_STARTED = Counter("helpdesk_sla_clocks_started_total", "SLA clocks started", ["policy"])
