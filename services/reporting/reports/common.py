"""What reports are made from and what they say about themselves (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

Fact = dict[str, Any]
Row = dict[str, Any]
Record = dict[str, Any]
DIMENSIONS = ("channel", "type", "priority", "queue", "organization_id", "site", "service_level")
TARGETS = ("first_response", "next_update", "resolution")


@dataclass
class Inputs:
    """What reports are made from (reads.py says which for each): the tickets' facts, problem
    management's records by kind (deficiency_reports, advisories, releases, problems), and the
    (organisation, site) pairs tickets came from."""

    facts: list[Fact]
    records: dict[str, list[Record]] = field(default_factory=dict)
    sites: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[Record]:
        return self.records.get(kind, [])


class ReportInfo(BaseModel):
    name: str
    title: str
    group_by: list[str] = Field(description="Dimensions it can be grouped by")
    columns: list[str]


def grouped(facts: Iterable[Fact], by: str | None) -> dict[str, list[Fact]]:
    groups: dict[str, list[Fact]] = {}
    for fact in facts:
        key = "all" if by is None else str(fact.get(by) or "-")
        groups.setdefault(key, []).append(fact)
    return dict(sorted(groups.items()))


def during(fact: Fact, field: str, start: datetime, end: datetime) -> bool:
    moment = fact.get(field)
    return moment is not None and start <= moment < end
