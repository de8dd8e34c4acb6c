"""Triage's storage: work items with their outbox, agents and their slots, the configuration."""

from shared.runtime import IndexSpec

from .items import (
    CLOSE_DUE,
    ITEM_INDEXES,
    WORK_ITEMS,
    Correction,
    HistoryEntry,
    MongoTriageStore,
    Resolution,
    TriageStore,
    WorkItem,
)
from .people import (
    AGENTS,
    PEOPLE_INDEXES,
    AgentStore,
    Alert,
    ConfigStore,
    MongoAgentStore,
    MongoConfigStore,
)

INDEXES: list[IndexSpec] = [*ITEM_INDEXES, *PEOPLE_INDEXES]

__all__ = [
    "AGENTS",
    "CLOSE_DUE",
    "INDEXES",
    "WORK_ITEMS",
    "AgentStore",
    "Alert",
    "ConfigStore",
    "Correction",
    "HistoryEntry",
    "MongoAgentStore",
    "MongoConfigStore",
    "MongoTriageStore",
    "Resolution",
    "TriageStore",
    "WorkItem",
]
