"""Triage's domain metrics."""

from prometheus_client import Counter

TRIAGED = Counter("helpdesk_triage_tickets_triaged_total", "Tickets triaged", ["queue", "priority"])
