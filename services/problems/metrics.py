"""Problems' domain metrics."""

from prometheus_client import Counter

from shared.records import bad_records

SERVICE = "problems"
BAD_RECORDS = bad_records(SERVICE)
"""helpdesk_problems_bad_records_total{collection}: stored records left out because they do
not load (shared.records counts them)."""
INCIDENTS_INDEXED = Counter("helpdesk_problems_incidents_indexed_total", "Incidents indexed")
CANDIDATES = Counter(
    "helpdesk_problems_candidates_total", "Recurring incidents announced as problem candidates"
)
WEBHOOK_DELIVERIES = Counter(
    "helpdesk_webhook_deliveries_total",
    "Outgoing webhook attempts by outcome (delivered, retried, failed)",
    ["outcome"],
)
