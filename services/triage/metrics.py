"""Triage's domain metrics."""

from prometheus_client import Counter

TRIAGED = Counter("helpdesk_triage_tickets_triaged_total", "Tickets triaged", ["queue", "priority"])
ASSIGNED = Counter("helpdesk_triage_assignments_total", "Tickets given to an agent", ["queue"])
ESCALATED = Counter(
    "helpdesk_triage_escalations_total", "Escalations, by what set them off", ["trigger"]
)
CLOSED = Counter("helpdesk_triage_tickets_closed_total", "Tickets closed", ["how"])
