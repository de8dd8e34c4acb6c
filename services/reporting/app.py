"""Reporting: read models and reports from the event log; run with
`uvicorn services.reporting.app:create_app --factory`."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.deliveries import DeliveryQueue, RetryPolicy
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
    MAIL_QUEUE,
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
    mail_attempts: int = Field(
        default=5,
        ge=1,
        validation_alias="HELPDESK_REPORT_MAIL_ATTEMPTS",
        description="Tries of a scheduled report's mail before it is given up",
    )
    mail_backoff_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="HELPDESK_REPORT_MAIL_BACKOFF_SECONDS",
        description="Wait after the first failed try of a mail, doubled after each (at most 1 h)",
    )
    mail_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        validation_alias="HELPDESK_REPORT_MAIL_LEASE_SECONDS",
        description="How long one try may take before another replica may take it over",
    )

    def mail_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.mail_attempts,
            backoff_base=self.mail_backoff_seconds,
            backoff_cap=max(3600.0, self.mail_backoff_seconds),
            lease=timedelta(seconds=self.mail_lease_seconds),
        )


async def build(runtime: Runtime) -> ReportingDeps:
    settings = runtime.settings
    assert isinstance(settings, ReportingSettings), "reporting runs with ReportingSettings"
    facts = MongoFactStore(runtime.db)
    await facts.start()  # before this replica consumes: a database from before the buckets
    deps = ReportingDeps(
        store=MongoReportingStore(runtime.db),
        facts=facts,
        records=MongoRecordStore(runtime.db),
        clock=runtime.clock,
        schedules=MongoScheduleStore(runtime.db),
        relay=runtime.relay,
        smtp=Smtp(settings.smtp_host, settings.smtp_port, settings.mail_from),
        mail_queue=DeliveryQueue(runtime.db, MAIL_QUEUE, settings.mail_policy()),
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
