"""Triage's configuration: queues, the rules and the matrix, managed by supervisors through the
API and kept as one versioned document, so every decision reads one consistent set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.common import Level, Priority, RequestKind, ServiceLevel, TicketType
from shared.strict import StrictBool, Trimmed

from .rules import (
    KEY,
    VERIFICATION_QUEUE,
    ClassificationRule,
    PriorityMatrix,
    RoutingRule,
    TextSignals,
)


class Queue(Trimmed):
    """A group of tickets with a common trait (seed 004, slide 9), worked by its agents."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: str = Field(pattern=KEY)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2_000)
    skills: list[str] = Field(default_factory=list, max_length=20, description="Agents need all")
    auto_assign: StrictBool = Field(default=True, description="Assign new tickets by least load")
    on_call: str | None = Field(default=None, description="Agent taking escalations at once")
    supervisor: str | None = Field(default=None, description="Agent a second breach goes to")


class TriageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    revision: int = 0
    queues: list[Queue]
    default_queue: str = "general-questions"
    routing_rules: list[RoutingRule] = Field(default_factory=list)
    classification_rules: list[ClassificationRule] = Field(default_factory=list)
    signals: TextSignals = Field(default_factory=TextSignals)
    matrix: PriorityMatrix

    @model_validator(mode="after")
    def _queues_exist(self) -> TriageConfig:
        keys = {q.key for q in self.queues}
        missing = {self.default_queue, VERIFICATION_QUEUE} - keys
        missing |= {r.queue for r in self.routing_rules} - keys
        if missing:
            raise ValueError(f"unknown queues: {sorted(missing)}")
        return self

    def queue(self, key: str) -> Queue | None:
        return next((q for q in self.queues if q.key == key), None)


def _cells() -> dict[str, Priority]:
    table = {
        (Level.HIGH, Level.HIGH): Priority.HIGHEST,
        (Level.HIGH, Level.MEDIUM): Priority.HIGH,
        (Level.MEDIUM, Level.HIGH): Priority.HIGH,
        (Level.HIGH, Level.LOW): Priority.NORMAL,
        (Level.MEDIUM, Level.MEDIUM): Priority.NORMAL,
        (Level.LOW, Level.HIGH): Priority.NORMAL,
        (Level.MEDIUM, Level.LOW): Priority.LOW,
        (Level.LOW, Level.MEDIUM): Priority.LOW,
        (Level.LOW, Level.LOW): Priority.LOW,
    }
    return {f"{i.value}/{u.value}": p for (i, u), p in table.items()}


def _rule(
    rule_id: str, outcome: TicketType | RequestKind, words: str, **extra: object
) -> dict[str, object]:
    key = "type" if isinstance(outcome, TicketType) else "request_kind"
    return {"id": rule_id, key: outcome, "keywords": words.split("|"), **extra}


# Keywords in the languages of our seeds' customers (English, Russian, Polish, Swedish): whole
# words or phrases, and stems where they end in "*".
DEFAULT_CLASSIFICATION = [
    _rule(
        "incident-words",
        TicketType.INCIDENT,
        "error*|fail*|crash*|is down|went down|outage*|not working|broken|stopped|cannot|can't|"
        "ошибк*|сбой*|авари*|не работает|упал*|błąd|błęd*|awari*|nie działa|przestał*|fel|"
        "felet|kraschar|fungerar inte|avbrott*",
    ),
    _rule("critical-asset", TicketType.INCIDENT, "", critical_asset=True, weight=0.5),
    _rule(
        "consultation-words",
        TicketType.CONSULTATION,
        "how do i|how to|how can|question*|advice|is it possible|как|вопрос*|консультац*|"
        "можно ли|подскажите|jak|czy|pytani*|czy można|porad*|hur|fråga*|går det att",
    ),
    _rule(
        "request-words",
        TicketType.SERVICE_REQUEST,
        "please create|new user|access to|account|accounts|password reset|licence*|license*|"
        "доступ*|учетн*|новый пользовател*|dostęp*|nowe konto|konto|reset hasła|behörighet*|"
        "åtkomst|nytt konto",
    ),
    _rule(
        "maintenance-words",
        TicketType.MAINTENANCE,
        "maintenance|upgrade*|update to|patch*|install*|обновлени*|установ*|регламент*|"
        "aktualizac*|instalac*|konserwac*|uppgrader*|uppdater*|installation*|underhåll*",
    ),
    _rule(
        "change-words",
        TicketType.CHANGE,
        "change request|please change|modify|изменени*|zmian*|ändring*|ändra",
    ),
    _rule(
        "why-words",
        RequestKind.FAILURE_ANALYSIS,
        "why|root cause|logs|log file|crash*|почему|причин*|dlaczego|przyczyn*|varför|orsak*",
    ),
    _rule(
        "fix-words",
        RequestKind.PROBLEM_RESOLUTION,
        "fix*|workaround*|solve*|repair*|restore*|исправ*|обход*|восстанов*|napraw*|obejści*|"
        "åtgärd*|laga",
    ),
    _rule(
        "configuration-words",
        RequestKind.CONFIGURATION_CONSULTATION,
        "config*|setting*|parameter*|setup|настройк*|конфигур*|параметр*|konfigur*|ustawie*|"
        "parametr*|inställning*",
    ),
    _rule(
        "usage-words",
        RequestKind.USAGE_CONSULTATION,
        "how do i|how to|how can|use the|как использ*|как сделать|jak użyć|jak zrobić|"
        "hur använder|hur gör",
    ),
]
DEFAULT_ROUTING = [
    {
        "id": "compatibility",
        "queue": "compatibility",
        "order": 10,
        "keywords": "compatib*|supported version*|works with|совместим*|поддерживается ли|"
        "kompatyb*|kompatib*|fungerar med".split("|"),
    },
    {
        "id": "operations-incidents",
        "queue": "operations",
        "order": 20,
        "types": ["incident", "maintenance"],
    },
]
# Low words are looked for first, so "not urgent" is not taken for "urgent".
DEFAULT_SIGNALS = {
    "impact_high": "all users|everyone|whole company|production|nobody can|entire|"
    "все пользовател*|никто не может|вся компания|wszyscy|nikt nie może|cała firma|produkcj*|"
    "alla användare|ingen kan|hela företaget|produktion*".split("|"),
    "impact_low": "one user|only me|cosmetic|typo|один пользовател*|только у меня|tylko ja|"
    "kosmetycz*|bara jag|kosmetisk*".split("|"),
    "urgency_high": "urgent*|asap|immediately|critical|right now|срочно|немедленно|критич*|"
    "pilne|pilny|natychmiast|krytycz*|brådskande|omedelbart|akut|kritisk*".split("|"),
    "urgency_low": "when you have time|no rush|not urgent|not critical|не срочно|не критично|"
    "когда будет время|niepilne|nie pilne|bez pośpiechu|niekrytyczn*|ingen brådska|"
    "inte bråttom|inte kritisk*".split("|"),
}
DEFAULT_QUEUES = [
    {"key": "general-questions", "name": "General questions"},
    {"key": "compatibility", "name": "Compatibility"},
    {"key": "operations", "name": "Operational problems"},
    {"key": VERIFICATION_QUEUE, "name": "Contract verification", "auto_assign": False},
]


def default_config() -> TriageConfig:
    return TriageConfig.model_validate(
        {
            "queues": DEFAULT_QUEUES,
            "routing_rules": DEFAULT_ROUTING,
            "classification_rules": DEFAULT_CLASSIFICATION,
            "signals": DEFAULT_SIGNALS,
            "matrix": {
                "cells": _cells(),
                "level_uplift": {ServiceLevel.PLATINUM: 1, ServiceLevel.GOLD: 1},
            },
        }
    )
