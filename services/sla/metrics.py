"""SLA's domain metrics."""

from prometheus_client import Counter, Gauge, Histogram

from shared.records import bad_records

from .domain.policies import TARGET_NAMES

CLOCKS_STARTED = Counter("helpdesk_sla_clocks_started_total", "SLA clocks started", ["policy"])
OUTCOMES = Counter(
    "helpdesk_sla_outcomes_total", "Warnings, breaches and targets met", ["kind", "target"]
)
# Exposed at 0 from the start: rate() and increase() miss a series' first step otherwise, and
# the breach-rate alert would not see the first breach after a restart.
for _kind in ("warning", "breached", "met"):
    for _target in TARGET_NAMES:
        OUTCOMES.labels(_kind, _target)
UNPLANNED = Counter(
    "helpdesk_sla_unplanned_targets_total",
    "Running targets whose due time could not be planned (sla.clock_unplanned): a calendar with "
    "too little open time or unreadable, a target too long to fit",
    ["target"],
)
for _target in TARGET_NAMES:
    UNPLANNED.labels(_target)
CLOCKS_AT_RISK = Gauge(
    "helpdesk_sla_clocks_at_risk",
    "Running targets predicted to be missed and not breached yet, at the last prediction round "
    "(reported by the replica holding the scheduler's lease only: sum across replicas)",
    ["target"],
)
FIRE_DELAY = Histogram(
    "helpdesk_sla_fire_delay_seconds",
    "From a clock's check time to the scheduler acting on it",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 30, 300),
)

BAD_RECORDS = bad_records("sla")  # stored records that failed to load (shared/records.py)
