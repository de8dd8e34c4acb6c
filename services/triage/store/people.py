"""Agents, their open-work slots (capacity kept exactly across replicas), their alerts, and
triage's configuration document."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.db import Database, without_id
from shared.paging import Order, Position, Slice, read_slice
from shared.records import load_one, loaded
from shared.runtime import IndexSpec

from ..domain import Agent, TriageConfig

AGENTS = "agents"
SLOTS = "agent_slots"  # "<agent>#<n>" -> ticket: n < capacity; small (open assignments only)
ALERTS = "agent_alerts"  # "<event id>:<agent>" -> an escalation an agent must look at
TURNS = "assignment_turns"  # queue -> the agent who got its previous ticket
CONFIG = "config"  # one document, "triage", with its revision

NEWEST_ALERTS = Order((("at", DESCENDING, datetime), ("_id", DESCENDING, str)))

PEOPLE_INDEXES: list[IndexSpec] = [
    (AGENTS, [("queues", ASCENDING)], False),
    (ALERTS, [("agent", ASCENDING), ("at", ASCENDING), ("_id", ASCENDING)], False),
]


class Alert(BaseModel):
    id: str
    agent: str
    ticket_id: str
    number: str
    at: datetime
    what: str


class AgentStore(Protocol):
    async def insert_agent(self, agent: Agent) -> bool: ...
    async def replace_agent(self, agent: Agent) -> None: ...
    async def get_agent(self, agent_id: str) -> Agent | None: ...
    async def list_agents(
        self, queue: str | None, limit: int, after: str | None = None
    ) -> list[Agent]: ...
    async def loads(self) -> dict[str, int]: ...
    async def take_slot(self, agent: Agent, ticket_id: str) -> bool: ...
    async def free_slot(self, agent_id: str, ticket_id: str) -> None: ...
    async def last_turn(self, queue: str) -> str | None: ...
    async def remember_turn(self, queue: str, agent_id: str) -> None: ...
    async def alert(self, alerts: list[Alert]) -> None: ...
    async def alerts_of(
        self, agent_id: str, limit: int, after: Position | None = None
    ) -> Slice[Alert]: ...


class MongoAgentStore:
    def __init__(self, db: Database) -> None:
        self._agents = db[AGENTS]
        self._slots = db[SLOTS]
        self._alerts = db[ALERTS]
        self._turns = db[TURNS]

    async def insert_agent(self, agent: Agent) -> bool:
        try:
            await self._agents.insert_one({"_id": agent.id, **agent.model_dump()})
        except DuplicateKeyError:
            return False
        return True

    async def replace_agent(self, agent: Agent) -> None:
        await self._agents.replace_one({"_id": agent.id}, {"_id": agent.id, **agent.model_dump()})

    async def get_agent(self, agent_id: str) -> Agent | None:
        doc = await self._agents.find_one({"_id": agent_id})
        return load_one(Agent, without_id(doc), AGENTS, "triage") if doc else None

    async def list_agents(
        self, queue: str | None, limit: int, after: str | None = None
    ) -> list[Agent]:
        """By id; `after`: those whose id sorts after it (the next page)."""
        query: dict[str, object] = {} if queue is None else {"queues": queue}
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self._agents.find(query).sort("_id", ASCENDING).limit(limit).to_list(limit)
        return loaded(Agent, (without_id(d) for d in docs), AGENTS, "triage")

    async def loads(self) -> dict[str, int]:
        """Open work per agent: the slots held (a small collection)."""
        counts: dict[str, int] = {}
        for slot in await self._slots.find().to_list(None):
            counts[slot["agent"]] = counts.get(slot["agent"], 0) + 1
        return counts

    async def take_slot(self, agent: Agent, ticket_id: str) -> bool:
        """One of the agent's `capacity` slots, by keyed insert: two replicas can never both
        fill the last one. True also when this ticket holds one already."""
        held = await self._slots.find_one({"agent": agent.id, "ticket_id": ticket_id})
        if held is not None:
            return True
        for n in range(agent.capacity):
            try:
                await self._slots.insert_one(
                    {"_id": f"{agent.id}#{n}", "agent": agent.id, "ticket_id": ticket_id}
                )
            except DuplicateKeyError:
                continue
            return True
        return False

    async def free_slot(self, agent_id: str, ticket_id: str) -> None:
        await self._slots.delete_many({"agent": agent_id, "ticket_id": ticket_id})

    async def last_turn(self, queue: str) -> str | None:
        doc = await self._turns.find_one({"_id": queue})
        return str(doc["agent"]) if doc else None

    async def remember_turn(self, queue: str, agent_id: str) -> None:
        """A hint for fairness among equals: a lost update only changes who is next."""
        await self._turns.replace_one(
            {"_id": queue}, {"_id": queue, "agent": agent_id}, upsert=True
        )

    async def alert(self, alerts: list[Alert]) -> None:
        for alert in alerts:  # keyed: a redelivered escalation alerts nobody twice
            try:
                await self._alerts.insert_one({"_id": alert.id, **alert.model_dump()})
            except DuplicateKeyError:
                continue

    async def alerts_of(
        self, agent_id: str, limit: int, after: Position | None = None
    ) -> Slice[Alert]:
        """The agent's alerts, newest first (then by id)."""
        found = await read_slice(self._alerts, NEWEST_ALERTS, limit, after, {"agent": agent_id})
        return Slice(loaded(Alert, found.items, ALERTS, "triage"), found.more_after)


class ConfigStore(Protocol):
    async def get_config(self) -> TriageConfig | None: ...
    async def save_config(self, before: int, config: TriageConfig) -> bool: ...


class MongoConfigStore:
    """The configuration as one document, changed by compare-and-set on its revision, like the
    work items: two supervisors saving at once never lose one of the changes silently."""

    def __init__(self, db: Database) -> None:
        self._config = db[CONFIG]

    async def get_config(self) -> TriageConfig | None:
        doc = await self._config.find_one({"_id": "triage"})
        return TriageConfig.model_validate(without_id(doc)) if doc else None

    async def save_config(self, before: int, config: TriageConfig) -> bool:
        state = config.model_copy(update={"revision": before + 1}).model_dump(mode="json")
        if before == 0:  # the first configuration: of two first writers one insert wins
            try:
                await self._config.insert_one({"_id": "triage", **state})
            except DuplicateKeyError:
                return False
            return True
        done = await self._config.replace_one({"_id": "triage", "revision": before}, state)
        return done.matched_count == 1
