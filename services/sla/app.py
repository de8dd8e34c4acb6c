"""SLA: clocks in business time; run with `uvicorn services.sla.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import subscribe
from .service import SlaDeps
from .store import CLOCKS, INDEXES, MongoSlaStore


class SlaSettings(ServiceSettings):
    service_name: str = "sla"
    http_port: int = Field(default=8003, validation_alias="HTTP_PORT")


async def build(runtime: Runtime) -> SlaDeps:
    deps = SlaDeps(store=MongoSlaStore(runtime.db), relay=runtime.relay, clock=runtime.clock)
    subscribe(runtime.consumer, deps)
    return deps


SPEC = ServiceSpec(
    title="Switchboard SLA",
    description="SLA clocks that warn, pause, breach and escalate.",
    routers=[router],
    build=build,
    outbox_collections=[CLOCKS],
    indexes=INDEXES,
    consumes=["triage", "intake"],
)


def create_app(settings: SlaSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or SlaSettings(), SPEC, clock)
