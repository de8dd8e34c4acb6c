"""Releases (seed 000 steps 2d and 5e: the release with the fix, versions supported) and
advisory notices / heads-up messages (seed 000 steps 1 and 5d; seed 001: maintenance is
announced well in advance).

A release is recorded, then published once: publishing names the tickets waiting for its fixes
and their customers. A notice is written ahead, published at its time (or at once), and may be
withdrawn before that.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import Conflict, FieldInvalid
from shared.records import patched
from shared.strict import IsoDate, IsoDatetime, StrictBool, Trimmed

from .reports import DeficiencyReport


class Release(BaseModel):
    version: str
    product: str = ""
    released_on: date
    fixed_reports: list[str] = Field(default_factory=list)
    supported: bool = True
    notes: str = ""
    published_at: datetime | None = None
    ticket_ids: list[str] = Field(default_factory=list, description="Named when published")
    organization_ids: list[str] = Field(default_factory=list, description="Named when published")
    revision: int = 0


class ReleaseRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    version: str = Field(min_length=1, max_length=100, pattern=r"^[\w.+-]+$")
    product: str = Field(default="", max_length=200)
    released_on: IsoDate
    fixed_reports: list[str] = Field(default_factory=list, max_length=1_000)
    supported: StrictBool = True
    notes: str = Field(default="", max_length=50_000)


class ReleaseEdit(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    supported: StrictBool | None = None
    notes: str | None = Field(default=None, max_length=50_000)
    fixed_reports: list[str] | None = Field(default=None, max_length=1_000)


def edited(release: Release, change: ReleaseEdit) -> Release:
    """The release with the fields given, validated whole (an explicit null is refused: no
    field of a release may be empty)."""
    fields = change.model_dump(exclude_unset=True)
    if "fixed_reports" in fields:
        editable_fixes(release)
    return patched(release, fields)


def editable_fixes(release: Release) -> None:
    if release.published_at is not None:
        raise FieldInvalid("fixed_reports", "the release is published: its fixes are told")


def affected(
    reports: list[DeficiencyReport], problem_tickets: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    """The tickets waiting for these fixes (the reports' own and their problems' incidents)
    and the reports' customers, each once, in order."""
    tickets: dict[str, None] = {}
    organizations: dict[str, None] = {}
    for report in reports:
        for ticket_id in [*report.ticket_ids, *problem_tickets.get(report.problem_id or "", [])]:
            tickets.setdefault(ticket_id, None)
        for organization_id in report.organization_ids:
            organizations.setdefault(organization_id, None)
    return list(tickets), list(organizations)


def published(
    release: Release, tickets: list[str], organizations: list[str], now: datetime
) -> Release:
    if release.published_at is not None:
        raise Conflict(f"release {release.version} was published already")
    return release.model_copy(
        update={"published_at": now, "ticket_ids": tickets, "organization_ids": organizations}
    )


class NoticeKind(StrEnum):
    ADVISORY = "advisory"
    HEADS_UP = "heads_up"
    MAINTENANCE = "maintenance"


class Audience(Trimmed):
    """Who is told: everyone, or the organisations, sites and product versions named."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    everyone: StrictBool = False
    organization_ids: list[str] = Field(default_factory=list, max_length=1_000)
    sites: list[str] = Field(default_factory=list, max_length=1_000)
    products: list[str] = Field(
        default_factory=list, max_length=100, description='Products, or "product version"'
    )

    @model_validator(mode="after")
    def _someone(self) -> Audience:
        if not (self.everyone or self.organization_ids or self.sites or self.products):
            raise ValueError("name the audience, or set everyone")
        return self


class Advisory(BaseModel):
    id: str
    title: str
    body: str
    kind: NoticeKind
    audience: Audience
    publish_at: datetime
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    change_id: str | None = None
    status: Literal["scheduled", "published", "withdrawn"] = "scheduled"
    published_at: datetime | None = None
    created_by: str
    created_at: datetime
    revision: int = 0


class AdvisoryRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=50_000)
    kind: NoticeKind = NoticeKind.ADVISORY
    audience: Audience
    publish_at: IsoDatetime | None = Field(default=None, description="Later, or now when absent")
    starts_at: IsoDatetime | None = None
    ends_at: IsoDatetime | None = None

    @model_validator(mode="after")
    def _maintenance_has_a_window(self) -> AdvisoryRequest:
        if self.kind is NoticeKind.MAINTENANCE and not (self.starts_at and self.ends_at):
            raise ValueError("a maintenance notice needs starts_at and ends_at")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at")
        return self


def scheduled(
    advisory_id: str, body: AdvisoryRequest, by: str, now: datetime, change_id: str | None = None
) -> Advisory:
    return Advisory(
        id=advisory_id,
        **body.model_dump(exclude={"publish_at"}),
        publish_at=body.publish_at or now,
        change_id=change_id,
        created_by=by,
        created_at=now,
    )


def due(advisory: Advisory, now: datetime) -> bool:
    return advisory.status == "scheduled" and advisory.publish_at <= now


def withdrawn(advisory: Advisory) -> Advisory:
    if advisory.status != "scheduled":
        raise Conflict(f"advisory {advisory.id} is {advisory.status}: too late to withdraw")
    return advisory.model_copy(update={"status": "withdrawn"})
