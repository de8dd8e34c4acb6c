"""Problems: incidents, problems, known errors, changes; run with
`uvicorn services.problems.app:create_app --factory`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import Field, field_validator

from shared.cache import Expiring
from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .domain.recurrence import RecurrenceIndex
from .handlers import subscribe
from .service import ProblemsDeps, Tracker
from .service.advisories import reschedule_notices, run_notices
from .service.incidents import RESOLVED_DAYS, housekeeping, run_resolved_sync, sync_resolved
from .service.recurrence import rebuild
from .store import OUTBOX_COLLECTIONS, STORE_INDEXES, MongoIncidentStore, MongoProblemsStore
from .webhooks import QUEUE_INDEXES, MongoDeliveryStore, WebhookSender

log = logging.getLogger(__name__)

HOUR = 3600.0
INDEXES = [*STORE_INDEXES, *QUEUE_INDEXES]


class ProblemsSettings(ServiceSettings):
    service_name: str = "problems"
    http_port: int = Field(default=8004, validation_alias="HTTP_PORT")
    tracker_url: str | None = Field(
        default=None,
        validation_alias="HELPDESK_TRACKER_WEBHOOK_URL",
        description="Where deficiency reports are posted (the developers' bug tracker)",
    )
    tracker_secret: str = Field(
        default="",
        validation_alias="HELPDESK_TRACKER_WEBHOOK_SECRET",
        description="Signs the posts and checks the tracker's updates; empty (or blank) "
        "refuses every update",
    )
    webhook_seconds: float = Field(default=1.0, gt=0, validation_alias="HELPDESK_WEBHOOK_SECONDS")
    notice_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias="HELPDESK_NOTICE_SECONDS",
        description="How often notices due for publication are looked for",
    )
    recurrence_k: int = Field(
        default=3, ge=2, validation_alias="HELPDESK_RECURRENCE_K", description="Similar incidents"
    )
    recurrence_days: float = Field(
        default=7.0, gt=0, validation_alias="HELPDESK_RECURRENCE_DAYS", description="...within"
    )
    knowledge_ttl_seconds: float = Field(
        default=2.0, ge=0, validation_alias="HELPDESK_KNOWLEDGE_TTL_SECONDS"
    )

    @field_validator("tracker_secret")
    @classmethod
    def _blank_is_unset(cls, value: str) -> str:
        """A secret of blanks is a mistake in the environment, never a key to sign with."""
        return value if value.strip() else ""


async def build(runtime: Runtime) -> ProblemsDeps:
    settings = runtime.settings
    assert isinstance(settings, ProblemsSettings), "problems runs with ProblemsSettings"
    store = MongoProblemsStore(runtime.db)
    deps = ProblemsDeps(
        store=store,
        incidents=MongoIncidentStore(runtime.db),
        relay=runtime.relay,
        clock=runtime.clock,
        recurrence=RecurrenceIndex(
            k=settings.recurrence_k, window=timedelta(days=settings.recurrence_days)
        ),
        resolved=RecurrenceIndex(k=10**9, window=timedelta(days=RESOLVED_DAYS)),
        deliveries=MongoDeliveryStore(runtime.db),
        tracker=Tracker(url=settings.tracker_url, secret=settings.tracker_secret),
        knowledge=Expiring(settings.knowledge_ttl_seconds),
    )
    if settings.tracker_url and not settings.tracker_secret:
        log.warning(
            "HELPDESK_TRACKER_WEBHOOK_SECRET is unset: deficiency reports are posted to the "
            "tracker unsigned, and its updates are refused"
        )
    await store.carry_over_sequences()
    await reschedule_notices(deps)
    await rebuild(deps)
    await sync_resolved(deps)
    subscribe(runtime.consumer, deps)
    deps.loops.append(partial(_send_webhooks, deps, settings.webhook_seconds))
    deps.loops.append(partial(run_notices, deps, settings.notice_seconds))
    deps.loops.append(partial(run_resolved_sync, deps))
    deps.loops.append(partial(housekeeping, deps, HOUR))
    return deps


async def _send_webhooks(deps: ProblemsDeps, interval: float) -> None:
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(deps.deliveries, http, deps.tracker.secret, deps.clock)
        await sender.run(interval)


def loops(deps: ProblemsDeps) -> list[Callable[[], Any]]:
    return deps.loops


SPEC = ServiceSpec(
    title="Switchboard problems",
    description="Recurring incidents, problems, known errors, deficiency reports and releases.",
    routers=[router],
    build=build,
    outbox_collections=OUTBOX_COLLECTIONS,
    indexes=INDEXES,
    tasks=loops,
    consumes=["intake", "triage"],
)


def create_app(settings: ProblemsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or ProblemsSettings(), SPEC, clock)
