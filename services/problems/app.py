"""Problems: incidents, problems, known errors, changes; run with
`uvicorn services.problems.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field

from shared.clock import Clock
from shared.runtime import Runtime, ServiceSpec, create_service_app
from shared.settings import ServiceSettings

from .api import router
from .handlers import subscribe
from .service import ProblemsDeps
from .store import INDEXES, MongoProblemsStore


class ProblemsSettings(ServiceSettings):
    service_name: str = "problems"
    http_port: int = Field(default=8004, validation_alias="HTTP_PORT")


async def build(runtime: Runtime) -> ProblemsDeps:
    deps = ProblemsDeps(store=MongoProblemsStore(runtime.db), clock=runtime.clock)
    subscribe(runtime.consumer, deps)
    return deps


SPEC = ServiceSpec(
    title="Switchboard problems",
    description="Recurring incidents, problems, known errors, deficiency reports and releases.",
    routers=[router],
    build=build,
    indexes=INDEXES,
    consumes=["intake", "triage"],
)


def create_app(settings: ProblemsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return create_service_app(settings or ProblemsSettings(), SPEC, clock)
