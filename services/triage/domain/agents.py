"""Agents, who gets a ticket (least open load, ties in turn), and where an escalation goes."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ConfigDict, EmailStr, Field

from shared.errors import Conflict
from shared.strict import StrictBool, StrictInt, Trimmed

from .config import Queue
from .rules import KEY

MAX_TIER = 3


class Agent(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(pattern=KEY, description="Login or short key")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    tier: StrictInt = Field(
        ge=1, le=MAX_TIER, description="1 first line, 2 specialists, 3 developers"
    )
    queues: list[str] = Field(default_factory=list, max_length=50)
    skills: list[str] = Field(default_factory=list, max_length=50)
    capacity: StrictInt = Field(default=10, ge=0, le=500, description="Open work items at most")
    supervisor: StrictBool = False
    on_shift: StrictBool = Field(default=True, description="Available for new work now")
    on_call: StrictBool = Field(default=False, description="Reachable out of hours for escalations")


class AgentUpdate(Trimmed):
    """What a supervisor changes of an agent: availability, capacity, queues, skills, tier."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tier: StrictInt | None = Field(default=None, ge=1, le=MAX_TIER)
    queues: list[str] | None = Field(default=None, max_length=50)
    skills: list[str] | None = Field(default=None, max_length=50)
    capacity: StrictInt | None = Field(default=None, ge=0, le=500)
    supervisor: StrictBool | None = None
    on_shift: StrictBool | None = None
    on_call: StrictBool | None = None


def may_work(agent: Agent, queue: Queue, tier: int) -> bool:
    """In the queue, at the ticket's tier, with every skill the queue asks for."""
    return (
        queue.key in agent.queues and agent.tier == tier and set(queue.skills) <= set(agent.skills)
    )


def candidates(
    agents: list[Agent], queue: Queue, tier: int, load: dict[str, int], last: str | None
) -> list[Agent]:
    """Who may get the ticket, best first: on shift, with room, least open load; equal loads
    take turns after the agent who got the previous one (even when that one is away now)."""
    ids = sorted({a.id for a in agents} | ({last} if last else set()))
    start = ids.index(last) + 1 if last in ids else 0
    turn = {agent_id: (i - start) % len(ids) for i, agent_id in enumerate(ids)}
    fit = [
        a
        for a in agents
        if may_work(a, queue, tier) and a.on_shift and load.get(a.id, 0) < a.capacity
    ]
    return sorted(fit, key=lambda a: (load.get(a.id, 0), turn[a.id]))


@dataclass(frozen=True)
class EscalationPlan:
    tier: int
    assignee: str | None
    """Who takes it now (on-call agent, supervisor); None: assignment by load at the tier."""
    reason: str


def plan_escalation(
    tier: int, assignee: str | None, queue: Queue, trigger: str, breaches: int
) -> EscalationPlan:
    """Where an escalation goes (seed 004, slide 11): up a tier; on an SLA warning first to the
    queue's on-call agent; a second breach to the supervisor."""
    if trigger == "sla.breached" and breaches >= 2 and queue.supervisor:
        return EscalationPlan(tier, queue.supervisor, f"breach {breaches}: to the supervisor")
    if trigger == "sla.at_risk" and queue.on_call and queue.on_call != assignee:
        return EscalationPlan(tier, queue.on_call, "SLA at risk: to the on-call agent")
    if tier < MAX_TIER:
        return EscalationPlan(tier + 1, None, f"up to tier {tier + 1}")
    if queue.on_call and queue.on_call != assignee:
        return EscalationPlan(tier, queue.on_call, "at the top tier: to the on-call agent")
    if trigger == "manual":
        raise Conflict("the ticket is at tier 3 (developers) already")
    return EscalationPlan(tier, assignee, "at the top tier already: everyone is alerted")


class EscalateRequest(Trimmed):
    """An agent moves a ticket up (seed 001): why, and the symptoms seen so far."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=3, max_length=2_000)
    symptoms: str = Field(min_length=3, max_length=20_000, description="What was observed")
    tried: list[str] = Field(default_factory=list, max_length=50, description="Done so far")


class AssignRequest(Trimmed):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    agent: str = Field(pattern=KEY)
    reason: str = Field(default="", max_length=2_000)
