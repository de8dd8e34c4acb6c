"""Topic names: one per producing service, plus one dead-letter topic per consuming service."""

from __future__ import annotations

SERVICES = ("intake", "triage", "sla", "problems", "reporting")


def topic_of(producer: str, prefix: str = "") -> str:
    """helpdesk.<service>.v1, the topic a service publishes to."""
    return f"{prefix}helpdesk.{producer}.v1"


def dlq_of(consumer: str, prefix: str = "") -> str:
    """helpdesk.<consumer-service>.dlq, where a consumer puts what it cannot process."""
    return f"{prefix}helpdesk.{consumer}.dlq"
