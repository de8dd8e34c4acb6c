"""Triage: classify, prioritise, queue and assign; run with
`uvicorn services.triage.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import subscribe
from .service import TriageDeps
from .store import INDEXES, WORK_ITEMS, MongoAgentStore, MongoTriageStore


class TriageSettings(ServiceSettings):
    service_name: str = "triage"
    http_port: int = Field(default=8002, validation_alias="HTTP_PORT")


async def build(runtime: Runtime) -> TriageDeps:
    deps = TriageDeps(
        store=MongoTriageStore(runtime.db),
        agents=MongoAgentStore(runtime.db),
        relay=runtime.relay,
        clock=runtime.clock,
    )
    subscribe(runtime.consumer, deps)
    return deps


SPEC = ServiceSpec(
    title="Switchboard triage",
    description="Every ticket classified, prioritised, queued, assigned and escalated.",
    routers=[router],
    build=build,
    outbox_collections=[WORK_ITEMS],
    indexes=INDEXES,
    consumes=["intake", "sla"],
)


def create_app(settings: TriageSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or TriageSettings(), SPEC, clock)
