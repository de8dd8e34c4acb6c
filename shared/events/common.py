"""Vocabulary shared by the ticket events: enums and small value objects."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    CHAT = "chat"
    IN_PERSON = "in_person"
    API = "api"


class ServiceLevel(StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"


class TicketType(StrEnum):
    INCIDENT = "incident"
    SERVICE_REQUEST = "service_request"
    MAINTENANCE = "maintenance"
    CHANGE = "change"
    CONSULTATION = "consultation"


class RequestKind(StrEnum):
    FAILURE_ANALYSIS = "failure_analysis"
    PROBLEM_RESOLUTION = "problem_resolution"
    CONFIGURATION_CONSULTATION = "configuration_consultation"
    USAGE_CONSULTATION = "usage_consultation"


class Level(StrEnum):
    """Impact and urgency."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    LOWEST = "lowest"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    HIGHEST = "highest"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class AuthorType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class Person(BaseModel):
    """Someone who wrote, asked or acted: a contact, an agent or a system."""

    model_config = ConfigDict(frozen=True)
    email: str | None = Field(default=None, max_length=320, description="E-mail address")
    name: str | None = Field(default=None, max_length=200, description="Display name")
    subject_id: str | None = Field(default=None, description="The JWT subject, when known")


Tier = int
"""1 first line, 2 specialists, 3 developers / project office."""
