"""SLA's pure rules: business calendars, policies, and the clock of each ticket."""

from .calendar import (
    ALWAYS_ON,
    Calendar,
    add_business,
    always_on,
    business_seconds,
    office,
)
from .clock import (
    Happening,
    Pause,
    SlaClock,
    TargetClock,
    agent_replied,
    check,
    flagged,
    pause,
    planned,
    reopened,
    replan,
    resolved,
    resume,
    start,
)
from .policies import TARGET_NAMES, Policy, default_policies, policy_id
from .predict import QueueStats, Risk, assess, learn

__all__ = [
    "ALWAYS_ON",
    "TARGET_NAMES",
    "Calendar",
    "Happening",
    "Pause",
    "Policy",
    "QueueStats",
    "Risk",
    "SlaClock",
    "TargetClock",
    "add_business",
    "agent_replied",
    "always_on",
    "business_seconds",
    "assess",
    "check",
    "flagged",
    "learn",
    "default_policies",
    "office",
    "pause",
    "planned",
    "policy_id",
    "reopened",
    "replan",
    "resolved",
    "resume",
    "start",
]
