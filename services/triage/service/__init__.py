"""Triage's use cases: the dependencies, reading and changing a work item, the configuration."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.cache import Expiring
from shared.clock import Clock
from shared.errors import NotFound
from shared.events import Event
from shared.events.common import Person, TicketStatus
from shared.events.triage import TicketStatusChanged, TicketStatusChangedData
from shared.outbox import OutboxRelay
from shared.paging import Position, Slice
from shared.versioned import rewrite

from ..domain import PRIORITY_ORDER, TriageConfig, default_config, transition
from ..store import WORK_ITEMS, AgentStore, ConfigStore, HistoryEntry, TriageStore, WorkItem

Change = tuple[WorkItem, list[Event[Any]]]


@dataclass
class TriageDeps:
    store: TriageStore
    agents: AgentStore
    configs: ConfigStore
    relay: OutboxRelay
    clock: Clock
    auto_close_after: timedelta = timedelta(days=5)
    config: Expiring[TriageConfig] = field(default_factory=lambda: Expiring(2.0))
    loops: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)


async def current_config(deps: TriageDeps) -> TriageConfig:
    """The configuration, read at most every few seconds (changes reach other replicas then)."""
    return await deps.config.get(lambda: _load_config(deps))


async def _load_config(deps: TriageDeps) -> TriageConfig:
    config = await deps.configs.get_config()
    if config is None:  # first start: the defaults, stored so supervisors can change them
        await deps.configs.save_config(0, default_config())
        config = await deps.configs.get_config() or default_config()
    return config


def forget_config(deps: TriageDeps) -> None:
    deps.config.forget()


async def get_work_item(ticket_id: str, deps: TriageDeps) -> WorkItem:
    item = await deps.store.get_item(ticket_id)
    if item is None:
        raise NotFound(f"no work item for ticket {ticket_id}")
    return item


async def change_item(
    ticket_id: str, deps: TriageDeps, decide: Callable[[WorkItem], Change | None]
) -> WorkItem | None:
    """Read, decide, write the next revision; decide again if another writer came first.
    Returns the new state, or None when `decide` found nothing to change."""

    async def decided(item: WorkItem) -> Change | None:
        return decide(item)

    done = await rewrite(
        deps.relay,
        WORK_ITEMS,
        ticket_id,
        lambda: get_work_item(ticket_id, deps),
        decided,
        deps.store.save,
    )
    if done is None or done[1] is done[0]:
        return None
    before, after = done
    return after.model_copy(update={"revision": before.revision + 1})


def moved(
    item: WorkItem,
    target: TicketStatus,
    by: Person | None,
    reason: str,
    now: datetime,
    cause: Event[Any] | None = None,
    stay: bool = False,
    **changes: Any,
) -> Change:
    """The item in its new status, the history line and ticket.status_changed; with `stay`, a
    change that keeps the status (a reassignment) is recorded without a transition."""
    if stay and target is item.status:
        return note(item, f"stays {target.value}", by, reason, now, **changes), []
    transition(item.status, target)
    after = note(item, f"{item.status.value} -> {target.value}", by, reason, now, **changes)
    event = TicketStatusChanged.create(
        source="triage",
        subject=item.ticket_id,
        time=now,
        correlation_id=cause.correlationid if cause else None,
        data=TicketStatusChangedData(
            ticket_id=item.ticket_id,
            number=item.number,
            from_status=item.status,
            to_status=target,
            by=by,
            reason=reason,
        ),
    )
    return after.model_copy(update={"status": target}), [event]


def note(
    item: WorkItem, what: str, by: Person | None, reason: str, now: datetime, **changes: Any
) -> WorkItem:
    entry = HistoryEntry(at=now, what=what, by=who(by), reason=reason)
    return item.model_copy(update={"history": [*item.history, entry], **changes})


def who(person: Person | None) -> str | None:
    if person is None:
        return None
    return person.subject_id or person.email or person.name


def rank(priority: Any) -> int:
    """0 for the highest priority: queues sort ascending."""
    return len(PRIORITY_ORDER) - 1 - PRIORITY_ORDER.index(priority)


async def worklist(
    queue: str, limit: int, after: Position | None, deps: TriageDeps
) -> Slice[WorkItem]:
    """The queue's open work: priority, then the SLA due time (soonest first), then age, then
    the ticket id, a page at a time."""
    config = await current_config(deps)
    if config.queue(queue) is None:
        raise NotFound(f"no queue {queue}")
    return await deps.store.queue_items(queue, limit, after)


async def assigned_work(
    agent: str, limit: int, after: Position | None, deps: TriageDeps
) -> Slice[WorkItem]:
    """The agent's open work ("mine"), in the worklist's order, a page at a time."""
    return await deps.store.assigned_items(agent, limit, after)
