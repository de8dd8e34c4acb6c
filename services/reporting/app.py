"""Reporting: read models and reports from the event log; run with
`uvicorn services.reporting.app:create_app --factory`."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.periodic import every
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import SOURCES, subscribe
from .scheduled import generate_due
from .service import ReportingDeps, Smtp
from .store import (
    GENERATED,
    INDEXES,
    MongoFactStore,
    MongoRecordStore,
    MongoReportingStore,
    MongoScheduleStore,
)


class ReportingSettings(ServiceSettings):
    service_name: str = "reporting"
    http_port: int = Field(default=8005, validation_alias="HTTP_PORT")
    schedule_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="HELPDESK_REPORT_SCHEDULE_SECONDS",
        description="How often scheduled reports whose period ended are made and mailed",
    )
    smtp_host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_SMTP_HOST")
    smtp_port: int = Field(default=1025, validation_alias="HELPDESK_SMTP_PORT")
    mail_from: str = Field(
        default="Switchboard reports <reports@switchboard.invalid>",
        validation_alias="HELPDESK_REPORTS_MAIL_FROM",
    )


async def build(runtime: Runtime) -> ReportingDeps:
    settings = runtime.settings
    assert isinstance(settings, ReportingSettings), "reporting runs with ReportingSettings"
    deps = ReportingDeps(
        store=MongoReportingStore(runtime.db),
        facts=MongoFactStore(runtime.db),
        records=MongoRecordStore(runtime.db),
        clock=runtime.clock,
        schedules=MongoScheduleStore(runtime.db),
        relay=runtime.relay,
        smtp=Smtp(settings.smtp_host, settings.smtp_port, settings.mail_from),
    )
    deps.loops.append(
        partial(every, settings.schedule_seconds, partial(generate_due, deps), "scheduled reports")
    )
    subscribe(runtime.consumer, deps)
    return deps


SPEC = ServiceSpec(
    title="Switchboard reporting",
    description="Counters and reports built only from the helpdesk event stream.",
    routers=[router],
    build=build,
    outbox_collections=[GENERATED],
    indexes=INDEXES,
    tasks=lambda deps: deps.loops,
    consumes=SOURCES,
)


def create_app(settings: ReportingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or ReportingSettings(), SPEC, clock)
