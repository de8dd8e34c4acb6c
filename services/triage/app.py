"""Triage: classify, prioritise, queue, assign and escalate; run with
`uvicorn services.triage.app:create_app --factory`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import Field

from shared.cache import Expiring
from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import subscribe
from .service import TriageDeps
from .service.gauges import gauges
from .service.lifecycle import sweep
from .store import (
    INDEXES,
    WORK_ITEMS,
    MongoAgentStore,
    MongoConfigStore,
    MongoTriageStore,
)


class TriageSettings(ServiceSettings):
    service_name: str = "triage"
    http_port: int = Field(default=8002, validation_alias="HTTP_PORT")
    auto_close_hours: float = Field(
        default=120.0,
        gt=0,
        validation_alias="HELPDESK_AUTO_CLOSE_HOURS",
        description="Quiet period after 'may we close it?' before a resolved ticket closes",
    )
    sweep_seconds: float = Field(
        default=60.0, gt=0, validation_alias="HELPDESK_TRIAGE_SWEEP_SECONDS"
    )
    gauge_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias="HELPDESK_TRIAGE_GAUGE_SECONDS",
        description="How often the open tickets and the backlog age are measured",
    )
    config_ttl_seconds: float = Field(
        default=2.0,
        ge=0,
        validation_alias="HELPDESK_CONFIG_TTL_SECONDS",
        description="How long a replica trusts its copy of queues and rules",
    )


async def build(runtime: Runtime) -> TriageDeps:
    settings = runtime.settings
    assert isinstance(settings, TriageSettings), "triage runs with TriageSettings"
    deps = TriageDeps(
        store=MongoTriageStore(runtime.db),
        agents=MongoAgentStore(runtime.db),
        configs=MongoConfigStore(runtime.db),
        relay=runtime.relay,
        clock=runtime.clock,
        auto_close_after=timedelta(hours=settings.auto_close_hours),
        config=Expiring(settings.config_ttl_seconds),
    )
    await deps.store.track_open_items()  # rows a crash between an item and its row left out
    subscribe(runtime.consumer, deps)
    deps.loops.append(partial(sweep, deps, settings.sweep_seconds))
    deps.loops.append(partial(gauges, deps, settings.gauge_seconds))
    return deps


def loops(deps: TriageDeps) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return deps.loops


SPEC = ServiceSpec(
    title="Switchboard triage",
    description="Every ticket classified, prioritised, queued, assigned and escalated.",
    routers=[router],
    build=build,
    outbox_collections=[WORK_ITEMS],
    indexes=INDEXES,
    consumes=["intake", "sla", "problems"],
    tasks=loops,
)


def create_app(settings: TriageSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or TriageSettings(), SPEC, clock)
