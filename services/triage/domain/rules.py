"""How a new ticket is read: its type and request kind by scored rules, its impact and urgency
from its words when not stated, its priority through the matrix, its queue by routing rules.

Every decision says why, in the words an agent would check it by.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.common import Channel, Level, Priority, RequestKind, ServiceLevel, TicketType
from shared.events.intake import TicketCreatedData
from shared.strict import StrictBool, StrictFloat, StrictInt, Trimmed

KEY = r"^[a-z0-9][a-z0-9._-]{1,62}$"
PRIORITY_ORDER: tuple[Priority, ...] = (
    Priority.LOWEST,
    Priority.LOW,
    Priority.NORMAL,
    Priority.HIGH,
    Priority.HIGHEST,
)
VERIFICATION_QUEUE = "verification"


def normalise(text: str) -> str:
    """Case folded, one composed form of each letter, typographic apostrophes plain, single
    spaces: what keywords are matched against."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _words(values: list[str]) -> list[str]:
    return [normalise(v).strip() for v in values if v.strip()]


class ClassificationRule(Trimmed):
    """Evidence for a type or a request kind: any keyword (any language), category, channel or
    a business-critical asset adds the weight (once) to that outcome's score. Keywords are
    whole words or phrases; one ending in "*" is a stem ("ошибк*" finds "ошибка")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=KEY)
    type: TicketType | None = None
    request_kind: RequestKind | None = None
    keywords: list[str] = Field(default_factory=list, max_length=200)
    categories: list[str] = Field(default_factory=list, max_length=50)
    channels: list[Channel] = Field(default_factory=list)
    critical_asset: StrictBool = Field(
        default=False, description="Matches tickets about a business-critical asset"
    )
    weight: StrictFloat = Field(default=1.0, gt=0, le=100)

    _norm = field_validator("keywords", "categories")(_words)


class RoutingRule(Trimmed):
    """Sends matching tickets to a queue; every condition given must hold (any value of it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=KEY)
    queue: str = Field(pattern=KEY)
    order: StrictInt = Field(default=100, ge=0, le=100_000, description="Lower is tried first")
    types: list[TicketType] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, max_length=50)
    products: list[str] = Field(default_factory=list, max_length=50)
    assets: list[str] = Field(default_factory=list, max_length=200)
    keywords: list[str] = Field(default_factory=list, max_length=200)
    organizations: list[str] = Field(default_factory=list, max_length=200)

    _norm = field_validator("categories", "products", "assets", "keywords")(_words)


class TextSignals(Trimmed):
    """Words that tell impact and urgency when the requester did not say (whole words or
    phrases, stems ending in "*"); the low words are looked for first."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    impact_high: list[str] = Field(default_factory=list)
    impact_low: list[str] = Field(default_factory=list)
    urgency_high: list[str] = Field(default_factory=list)
    urgency_low: list[str] = Field(default_factory=list)

    _norm = field_validator("*")(_words)


class PriorityMatrix(BaseModel):
    """impact x urgency -> priority, then raised by the contract's level and critical assets."""

    model_config = ConfigDict(extra="forbid")
    cells: dict[str, Priority] = Field(description='Keys "impact/urgency", e.g. "high/medium"')
    level_uplift: dict[ServiceLevel, StrictInt] = Field(default_factory=dict)
    critical_asset_uplift: StrictInt = Field(default=1, ge=0, le=4)
    consultation: Priority = Field(default=Priority.LOWEST)

    @field_validator("cells")
    @classmethod
    def _complete(cls, cells: dict[str, Priority]) -> dict[str, Priority]:
        wanted = {f"{i.value}/{u.value}" for i in Level for u in Level}
        if set(cells) != wanted:
            raise ValueError(f"give exactly the cells {sorted(wanted)}")
        return cells


@dataclass(frozen=True)
class Classification:
    type: TicketType
    request_kind: RequestKind
    scores: dict[str, float]
    explanation: list[str] = field(default_factory=list)


DEFAULT_KIND: dict[TicketType, RequestKind] = {
    TicketType.INCIDENT: RequestKind.FAILURE_ANALYSIS,
    TicketType.SERVICE_REQUEST: RequestKind.USAGE_CONSULTATION,
    TicketType.MAINTENANCE: RequestKind.PROBLEM_RESOLUTION,
    TicketType.CHANGE: RequestKind.CONFIGURATION_CONSULTATION,
    TicketType.CONSULTATION: RequestKind.USAGE_CONSULTATION,
}


def classify(ticket: TicketCreatedData, rules: list[ClassificationRule]) -> Classification:
    """The stated type and kind win; otherwise the best-scoring rules decide (ties and no
    evidence: incident, the safe reading of a request for help)."""
    text = normalise(f"{ticket.subject} {ticket.description}")
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for rule in rules:
        hits = _evidence(rule, ticket, text)
        if not hits:
            continue
        for outcome in filter(None, (rule.type, rule.request_kind)):
            scores[outcome.value] = round(scores.get(outcome.value, 0.0) + rule.weight, 3)
            reasons.setdefault(outcome.value, []).append(f"{rule.id} ({', '.join(hits)})")
    why: list[str] = []
    kind = ticket.type_hint or _best(scores, list(TicketType), TicketType.INCIDENT)
    why.append(_said("type", kind.value, ticket.type_hint is not None, scores, reasons))
    request_kind = ticket.request_kind or _best(scores, list(RequestKind), DEFAULT_KIND[kind])
    why.append(
        _said("request kind", request_kind.value, ticket.request_kind is not None, scores, reasons)
    )
    return Classification(kind, request_kind, scores, why)


def _evidence(rule: ClassificationRule, ticket: TicketCreatedData, text: str) -> list[str]:
    hits = [f"'{k.rstrip('*')}'" for k in rule.keywords if _has(text, k)]
    if ticket.category and normalise(ticket.category).strip() in rule.categories:
        hits.append(f"category {ticket.category}")
    if ticket.channel in rule.channels:
        hits.append(f"channel {ticket.channel.value}")
    if rule.critical_asset and ticket.asset_critical:
        hits.append(f"critical asset {ticket.asset}")
    return hits


def _has(text: str, keyword: str) -> bool:
    """A whole word or phrase; a stem ("crash*") at the start of a word."""
    if keyword.endswith("*"):
        return re.search(r"(?<!\w)" + re.escape(keyword[:-1]), text) is not None
    return re.search(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", text) is not None


Outcome = TypeVar("Outcome", TicketType, RequestKind)


def _best(scores: dict[str, float], options: list[Outcome], default: Outcome) -> Outcome:
    scored = [(scores[o.value], -i, o) for i, o in enumerate(options) if o.value in scores]
    if not scored:
        return default
    best = max(scored)
    ties = [s for s in scored if s[0] == best[0]]
    return default if len(ties) > 1 and default in (t[2] for t in ties) else best[2]


def _said(
    what: str, value: str, stated: bool, scores: dict[str, float], reasons: dict[str, list[str]]
) -> str:
    if stated:
        return f"{what} {value} as stated"
    if value not in scores:
        return f"{what} {value} by default (no rule matched)"
    return f"{what} {value}: score {scores[value]:g} from {'; '.join(reasons[value])}"


def derive_levels(
    ticket: TicketCreatedData, signals: TextSignals
) -> tuple[Level, Level, list[str]]:
    """Impact and urgency as stated, else from the words used, else medium."""
    text = normalise(f"{ticket.subject} {ticket.description}")
    impact, why_i = _level("impact", ticket.impact, signals.impact_high, signals.impact_low, text)
    urgency, why_u = _level(
        "urgency", ticket.urgency, signals.urgency_high, signals.urgency_low, text
    )
    return impact, urgency, [why_i, why_u]


def _level(
    name: str, stated: Level | None, high: list[str], low: list[str], text: str
) -> tuple[Level, str]:
    if stated is not None:
        return stated, f"{name} {stated.value} as stated"
    for level, words in ((Level.LOW, low), (Level.HIGH, high)):  # "not urgent" before "urgent"
        found = [w.rstrip("*") for w in words if _has(text, w)]
        if found:
            return level, f"{name} {level.value} from the words {', '.join(map(repr, found))}"
    return Level.MEDIUM, f"{name} medium by default"


def raise_priority(priority: Priority, steps: int) -> Priority:
    index = min(len(PRIORITY_ORDER) - 1, max(0, PRIORITY_ORDER.index(priority) + steps))
    return PRIORITY_ORDER[index]


def prioritise(
    kind: TicketType,
    impact: Level,
    urgency: Level,
    level: ServiceLevel | None,
    asset_critical: bool,
    matrix: PriorityMatrix,
) -> tuple[Priority, list[str]]:
    if kind is TicketType.CONSULTATION:
        return matrix.consultation, [f"consultations get {matrix.consultation.value}"]
    priority = matrix.cells[f"{impact.value}/{urgency.value}"]
    why = [f"impact {impact.value} x urgency {urgency.value} gives {priority.value}"]
    if level is not None and matrix.level_uplift.get(level, 0):
        priority = raise_priority(priority, matrix.level_uplift[level])
        why.append(f"service level {level.value} raises it to {priority.value}")
    if asset_critical and matrix.critical_asset_uplift:
        priority = raise_priority(priority, matrix.critical_asset_uplift)
        why.append(f"a business-critical asset raises it to {priority.value}")
    return priority, why


def route(
    ticket: TicketCreatedData, kind: TicketType, rules: list[RoutingRule], default_queue: str
) -> tuple[str, str]:
    """The queue and why: verification first for anything without a valid contract."""
    if not ticket.entitled:
        return VERIFICATION_QUEUE, f"queue {VERIFICATION_QUEUE}: no valid contract matched"
    text = normalise(f"{ticket.subject} {ticket.description}")
    for rule in sorted(rules, key=lambda r: (r.order, r.id)):
        if _routes(rule, ticket, kind, text):
            return rule.queue, f"queue {rule.queue} by routing rule {rule.id}"
    return default_queue, f"queue {default_queue} by default"


def _routes(rule: RoutingRule, ticket: TicketCreatedData, kind: TicketType, text: str) -> bool:
    checks = [
        not rule.types or kind in rule.types,
        not rule.categories or _norm(ticket.category) in rule.categories,
        not rule.products or _norm(ticket.product) in rule.products,
        not rule.assets or _norm(ticket.asset) in rule.assets,
        not rule.keywords or any(_has(text, k) for k in rule.keywords),
        not rule.organizations or ticket.organization_id in rule.organizations,
    ]
    return all(checks)


def _norm(value: str | None) -> str | None:
    return normalise(value).strip() if value else None
