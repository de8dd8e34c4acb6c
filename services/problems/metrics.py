"""Problems' domain metrics."""

from prometheus_client import Counter

INCIDENTS_INDEXED = Counter("helpdesk_problems_incidents_indexed_total", "Incidents indexed")
CANDIDATES = Counter(
    "helpdesk_problems_candidates_total", "Recurring incidents announced as problem candidates"
)
WEBHOOK_DELIVERIES = Counter(
    "helpdesk_webhook_deliveries_total",
    "Outgoing webhook attempts by outcome (delivered, retried, failed)",
    ["outcome"],
)
