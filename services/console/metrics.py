"""The console's metrics."""

from prometheus_client import Counter, Gauge

SIGN_INS = Counter(
    "helpdesk_console_sign_ins_total", "Sign-in attempts, by outcome", ["outcome"]
)  # ok, refused (wrong username or password), limited (429)
LIVE_LISTENERS = Gauge(
    "helpdesk_console_live_listeners", "Browsers connected to this process's event stream"
)
LIVE_EVENTS = Counter(
    "helpdesk_console_live_events_total", "Events read from the stream and passed on", ["type"]
)
