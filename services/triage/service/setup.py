"""Supervisors and admins change queues, rules and the matrix; each change is a new revision
of the configuration, checked whole before it is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from shared.errors import Conflict, DomainError, NotFound
from shared.records import patched

from ..domain import (
    Agent,
    AgentUpdate,
    ClassificationRule,
    PriorityMatrix,
    Queue,
    RoutingRule,
    TextSignals,
    TriageConfig,
)
from . import TriageDeps, current_config, forget_config

LISTS = {"queues": "key", "routing_rules": "id", "classification_rules": "id"}


async def _change(deps: TriageDeps, edit: Callable[[dict[str, Any]], None]) -> TriageConfig:
    forget_config(deps)
    config = await current_config(deps)
    draft = config.model_dump(mode="json")
    edit(draft)
    try:
        changed = TriageConfig.model_validate(draft)
    except ValidationError as exc:
        raise DomainError(f"the configuration would be invalid: {_first(exc)}") from None
    if not await deps.configs.save_config(config.revision, changed):
        raise Conflict("the configuration was changed meanwhile; read it again and retry")
    forget_config(deps)
    return await current_config(deps)


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


async def put_entry(
    deps: TriageDeps, kind: str, entry: Queue | RoutingRule | ClassificationRule
) -> None:
    """Add or replace one queue or rule, by its key."""
    key_field = LISTS[kind]
    value = entry.model_dump(mode="json")

    def edit(draft: dict[str, Any]) -> None:
        others = [e for e in draft[kind] if e[key_field] != value[key_field]]
        draft[kind] = [*others, value]

    await _change(deps, edit)


async def delete_entry(deps: TriageDeps, kind: str, key: str) -> None:
    key_field = LISTS[kind]
    config = await current_config(deps)
    if not any(getattr(e, key_field) == key for e in getattr(config, kind)):
        raise NotFound(f"no {kind.rstrip('s').replace('_', ' ')} {key}")

    def edit(draft: dict[str, Any]) -> None:
        draft[kind] = [e for e in draft[kind] if e[key_field] != key]

    await _change(deps, edit)


async def put_matrix(deps: TriageDeps, matrix: PriorityMatrix) -> PriorityMatrix:
    config = await _change(deps, lambda d: d.update(matrix=matrix.model_dump(mode="json")))
    return config.matrix


async def put_signals(deps: TriageDeps, signals: TextSignals) -> TextSignals:
    config = await _change(deps, lambda d: d.update(signals=signals.model_dump(mode="json")))
    return config.signals


async def update_agent(agent_id: str, update: AgentUpdate, deps: TriageDeps) -> Agent:
    agent = await deps.agents.get_agent(agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    changed = patched(agent, update.model_dump(exclude_unset=True))  # a null: 422 naming it
    await deps.agents.replace_agent(changed)
    return changed
