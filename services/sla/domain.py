"""SLA's pure rules: which targets a ticket gets. Business-hours calendars come with the SLA issue;
until then every clock runs on the 24x7 calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events.common import Priority, ServiceLevel

TARGET_NAMES = ("first_response", "next_update", "resolution")
ALWAYS_ON = "24x7"

# Minutes for platinum; other levels multiply them. (first response, next update, resolution)
PLATINUM_MINUTES: dict[Priority, tuple[int, int, int]] = {
    Priority.HIGHEST: (15, 60, 240),
    Priority.HIGH: (30, 120, 480),
    Priority.NORMAL: (60, 240, 1440),
    Priority.LOW: (120, 480, 2880),
    Priority.LOWEST: (240, 1440, 4320),
}
LEVEL_FACTOR: dict[ServiceLevel, int] = {
    ServiceLevel.PLATINUM: 1,
    ServiceLevel.GOLD: 2,
    ServiceLevel.SILVER: 3,
    ServiceLevel.BRONZE: 4,
}
NO_CONTRACT = ServiceLevel.BRONZE


@dataclass(frozen=True)
class Target:
    name: str
    seconds: int
    due_at: datetime


def policy_id(level: ServiceLevel | None, priority: Priority) -> str:
    return f"{(level or NO_CONTRACT).value}/{priority.value}"


def targets_for(level: ServiceLevel | None, priority: Priority, start: datetime) -> list[Target]:
    """The targets of a clock started at `start`; tickets without a contract get bronze."""
    factor = LEVEL_FACTOR[level or NO_CONTRACT]
    minutes = PLATINUM_MINUTES[priority]
    return [
        Target(name, m * factor * 60, start + timedelta(minutes=m * factor))
        for name, m in zip(TARGET_NAMES, minutes, strict=True)
    ]


@dataclass(frozen=True)
class Policy:
    id: str
    service_level: ServiceLevel
    priority: Priority
    target_seconds: dict[str, int]


def policies() -> list[Policy]:
    """Every level x priority policy with its target durations."""
    return [
        Policy(
            policy_id(level, priority),
            level,
            priority,
            {n: m * LEVEL_FACTOR[level] * 60 for n, m in zip(TARGET_NAMES, mins, strict=True)},
        )
        for level in ServiceLevel
        for priority, mins in PLATINUM_MINUTES.items()
    ]
