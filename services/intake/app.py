"""Intake: every contact becomes a numbered ticket; run with
`uvicorn services.intake.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .service import IntakeDeps
from .store import INDEXES, QUARANTINE, TICKETS, MongoIntakeStore


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = Field(default=8001, validation_alias="HTTP_PORT")
    mail_domain: str = Field(
        default="helpdesk.switchboard.example",
        validation_alias="HELPDESK_MAIL_DOMAIN",
        description="Our mail domain: Message-IDs, and loops of our own notifications",
    )


async def build(runtime: Runtime) -> IntakeDeps:
    store = MongoIntakeStore(runtime.db)
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings), "intake runs with IntakeSettings"
    return IntakeDeps(
        store=store,
        relay=runtime.relay,
        clock=runtime.clock,
        mail_domain=settings.mail_domain,
        next_seq=await store.highest_seq() + 1,
    )


SPEC = ServiceSpec(
    title="Switchboard intake",
    description="Requests by e-mail, web, phone and chat become tickets with a number.",
    routers=[router],
    build=build,
    outbox_collections=[TICKETS, QUARANTINE],
    indexes=INDEXES,
)


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or IntakeSettings(), SPEC, clock)
