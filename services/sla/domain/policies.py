"""Which targets a ticket gets: a policy per service level x priority, in business minutes on
the calendar that applies (24x7 for platinum, office hours otherwise)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.common import Priority, ServiceLevel
from shared.strict import StrictBool, StrictFloat, StrictInt

TARGET_NAMES = ("first_response", "next_update", "resolution")
MAX_TARGET_SECONDS = 10 * 365 * 86_400  # ten years: as far as the planner looks ahead
Seconds = Annotated[StrictInt, Field(ge=0, le=MAX_TARGET_SECONDS)]
Fraction = Annotated[StrictFloat, Field(gt=0, le=1, allow_inf_nan=False)]
NO_CONTRACT = ServiceLevel.BRONZE
P = Priority
# (first response, next update, resolution) in business minutes; a business day is 9 hours.
DEFAULT_MINUTES: dict[ServiceLevel, dict[Priority, tuple[int, int, int]]] = {
    ServiceLevel.PLATINUM: {
        P.HIGHEST: (15, 60, 240),
        P.HIGH: (30, 120, 480),
        P.NORMAL: (60, 240, 540),
        P.LOW: (120, 240, 1080),
        P.LOWEST: (240, 540, 1620),
    },
    ServiceLevel.GOLD: {
        P.HIGHEST: (30, 60, 480),
        P.HIGH: (60, 120, 540),
        P.NORMAL: (120, 240, 1080),
        P.LOW: (240, 540, 1620),
        P.LOWEST: (480, 540, 1620),
    },
    ServiceLevel.SILVER: {
        P.HIGHEST: (60, 120, 540),
        P.HIGH: (120, 240, 1080),
        P.NORMAL: (240, 540, 1620),
        P.LOW: (480, 540, 1620),
        P.LOWEST: (540, 1080, 1620),
    },
    ServiceLevel.BRONZE: {
        P.HIGHEST: (120, 240, 1080),
        P.HIGH: (240, 540, 1620),
        P.NORMAL: (480, 540, 1620),
        P.LOW: (540, 1080, 1620),
        P.LOWEST: (540, 1080, 1620),
    },
}


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    service_level: ServiceLevel
    priority: Priority
    target_seconds: dict[str, Seconds] = Field(
        description="Business seconds per target: first_response, next_update, resolution"
    )
    calendar_id: str = Field(description="Default calendar (a contract's or queue's wins)")
    warn_at: tuple[Fraction, ...] = Field(
        default=(0.75, 0.9), max_length=10, description="Warning fractions, above 0 up to 1"
    )
    quiet_hours: StrictBool = Field(
        default=True,
        description="Warnings and breaches found while the calendar is closed (after a restart, "
        "a recalculation, a reopen) are announced when it opens; false announces them at once",
    )

    @field_validator("target_seconds")
    @classmethod
    def _names(cls, targets: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(targets) - set(TARGET_NAMES))
        if unknown:
            raise ValueError(f"unknown targets {unknown}: the targets are {list(TARGET_NAMES)}")
        return targets


def policy_id(level: ServiceLevel | None, priority: Priority) -> str:
    return f"{(level or NO_CONTRACT).value}/{priority.value}"


def default_policies() -> dict[str, Policy]:
    found = {}
    for level, table in DEFAULT_MINUTES.items():
        for priority, minutes in table.items():
            policy = Policy(
                id=policy_id(level, priority),
                service_level=level,
                priority=priority,
                target_seconds={n: m * 60 for n, m in zip(TARGET_NAMES, minutes, strict=True)},
                calendar_id="24x7" if level is ServiceLevel.PLATINUM else "office",
            )
            found[policy.id] = policy
    return found
