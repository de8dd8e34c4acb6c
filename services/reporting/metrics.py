"""Reporting's domain metrics."""

from prometheus_client import Counter

from shared.records import bad_records

EVENTS_COUNTED = Counter(
    "helpdesk_reporting_events_counted_total", "Events applied to counters", ["type"]
)
REPORT_MAILS = Counter(
    "helpdesk_reporting_report_mails_total",
    "Scheduled report mail attempts: sent, retried (tried again later), failed (for good)",
    ["outcome"],
)
FACTS_READ = Counter(
    "helpdesk_reporting_facts_read_total",
    "Fact documents read for reports (what a period read costs: the period, not the history)",
)

BAD_RECORDS = bad_records("reporting")  # stored records that failed to load (shared/records.py)
