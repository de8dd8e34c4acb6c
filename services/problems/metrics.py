"""Problems' domain metrics."""

from prometheus_client import Counter

INCIDENTS_INDEXED = Counter("helpdesk_problems_incidents_indexed_total", "Incidents indexed")
