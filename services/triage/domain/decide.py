"""A new ticket read whole: classification, levels, priority and queue, with every reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.events.common import Level, Priority, RequestKind, TicketType
from shared.events.intake import TicketCreatedData

from .config import TriageConfig
from .rules import classify, derive_levels, prioritise, route


@dataclass(frozen=True)
class TriageDecision:
    type: TicketType
    request_kind: RequestKind
    impact: Level
    urgency: Level
    priority: Priority
    queue: str
    tier: int
    scores: dict[str, float] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)


def decide(ticket: TicketCreatedData, config: TriageConfig) -> TriageDecision:
    found = classify(ticket, config.classification_rules)
    impact, urgency, why_levels = derive_levels(ticket, config.signals)
    priority, why_priority = prioritise(
        found.type,
        impact,
        urgency,
        ticket.service_level,
        bool(ticket.asset_critical),
        config.matrix,
    )
    queue, why_queue = route(ticket, found.type, config.routing_rules, config.default_queue)
    return TriageDecision(
        type=found.type,
        request_kind=found.request_kind,
        impact=impact,
        urgency=urgency,
        priority=priority,
        queue=queue,
        tier=1,
        scores=found.scores,
        explanation=[*found.explanation, *why_levels, *why_priority, why_queue],
    )
