"""Reporting: read models and reports from the event log; run with
`uvicorn services.reporting.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import SOURCES, subscribe
from .service import ReportingDeps
from .store import INDEXES, MongoFactStore, MongoRecordStore, MongoReportingStore


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = Field(default=8005, validation_alias="HTTP_PORT")


async def build(runtime: Runtime) -> ReportingDeps:
    deps = ReportingDeps(
        store=MongoReportingStore(runtime.db),
        facts=MongoFactStore(runtime.db),
        records=MongoRecordStore(runtime.db),
        clock=runtime.clock,
    )
    subscribe(runtime.consumer, deps)
    return deps


SPEC = ServiceSpec(
    title="Switchboard reporting",
    description="Counters and reports built only from the helpdesk event stream.",
    routers=[router],
    build=build,
    indexes=INDEXES,
    consumes=SOURCES,
)


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or ReportingSettings(), SPEC, clock)
