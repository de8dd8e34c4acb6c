"""Intake's domain metrics."""

from prometheus_client import Counter

from shared.records import bad_records

TICKETS_CREATED = Counter(
    "helpdesk_intake_tickets_created_total", "Tickets recorded, by channel", ["channel"]
)
NUMBER_CONFLICTS = Counter(
    "helpdesk_intake_number_conflicts_total", "Ticket-number allocations retried after a clash"
)
INBOUND_MAIL = Counter(
    "helpdesk_intake_inbound_mail_total", "Inbound e-mail by outcome", ["outcome"]
)
NOTIFICATIONS = Counter(
    "helpdesk_intake_notifications_total",
    "Notification attempts by kind and outcome",
    ["kind", "outcome"],
)

BAD_RECORDS = bad_records("intake")  # stored records that failed to load (shared/records.py)
