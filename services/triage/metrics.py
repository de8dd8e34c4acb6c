"""Triage's domain metrics."""

from prometheus_client import Counter, Gauge

from shared.records import bad_records

TRIAGED = Counter("helpdesk_triage_tickets_triaged_total", "Tickets triaged", ["queue", "priority"])
ASSIGNED = Counter("helpdesk_triage_assignments_total", "Tickets given to an agent", ["queue"])
ESCALATED = Counter(
    "helpdesk_triage_escalations_total", "Escalations, by what set them off", ["trigger"]
)
CLOSED = Counter("helpdesk_triage_tickets_closed_total", "Tickets closed", ["how"])
# Set by every replica from the same collection: aggregate them with max, not sum.
OPEN_TICKETS = Gauge(
    "helpdesk_triage_open_tickets",
    "Work items neither resolved nor closed, at the last backlog round",
    ["queue", "priority"],
)
BACKLOG_AGE = Gauge(
    "helpdesk_triage_backlog_age_seconds",
    "Age of the queue's oldest open work item, at the last backlog round",
    ["queue"],
)

BAD_RECORDS = bad_records("triage")  # stored records that failed to load (shared/records.py)
