"""SLA: clocks in business time; run with `uvicorn services.sla.app:create_app --factory`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
from .service import SlaDeps, predictor
from .service.scheduler import run
from .store import (
    CLOCKS,
    INDEXES,
    MongoClockStore,
    MongoInputStore,
    MongoSetupStore,
    MongoTimerStore,
)


class SlaSettings(ServiceSettings):
    service_name: str = "sla"
    http_port: int = Field(default=8003, validation_alias="HTTP_PORT")
    tick_seconds: float = Field(
        default=0.5,
        gt=0,
        validation_alias="HELPDESK_SLA_TICK_SECONDS",
        description="How often the scheduler looks for due clocks",
    )
    setup_ttl_seconds: float = Field(
        default=2.0, ge=0, validation_alias="HELPDESK_SLA_SETUP_TTL_SECONDS"
    )
    predict_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="HELPDESK_SLA_PREDICT_SECONDS",
        description="How often the clocks' history is read to see breaches coming",
    )
    min_open_hours_per_year: float = Field(
        default=52.0,
        gt=0,
        le=8760,
        validation_alias="HELPDESK_SLA_MIN_OPEN_HOURS_PER_YEAR",
        description="A calendar saved must be open this long in each coming year (52: an hour "
        "a week on average)",
    )


async def build(runtime: Runtime) -> SlaDeps:
    settings = runtime.settings
    assert isinstance(settings, SlaSettings), "sla runs with SlaSettings"
    deps = SlaDeps(
        store=MongoClockStore(runtime.db),
        timers=MongoTimerStore(runtime.db),
        setup_store=MongoSetupStore(runtime.db),
        inputs=MongoInputStore(runtime.db),
        relay=runtime.relay,
        clock=runtime.clock,
        holder=f"sla-{uuid.uuid4().hex[:12]}",
        setup=Expiring(settings.setup_ttl_seconds),
        min_open_hours=settings.min_open_hours_per_year,
    )
    subscribe(runtime.consumer, deps)
    deps.loops.append(partial(run, deps, settings.tick_seconds))
    deps.loops.append(partial(predictor.run, deps, settings.predict_seconds))
    return deps


def loops(deps: SlaDeps) -> list[Callable[[], Any]]:
    return deps.loops


SPEC = ServiceSpec(
    title="Switchboard SLA",
    description="SLA clocks in business time that warn, pause, breach and escalate.",
    routers=[router],
    build=build,
    outbox_collections=[CLOCKS],
    indexes=INDEXES,
    consumes=["triage", "intake"],
    tasks=loops,
)


def create_app(settings: SlaSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or SlaSettings(), SPEC, clock)
