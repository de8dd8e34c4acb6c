"""Intake's domain metrics."""

from prometheus_client import Counter

TICKETS_CREATED = Counter(
    "helpdesk_intake_tickets_created_total", "Tickets recorded, by channel", ["channel"]
)
NUMBER_CONFLICTS = Counter(
    "helpdesk_intake_number_conflicts_total", "Ticket-number allocations retried after a clash"
)
