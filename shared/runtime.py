"""The process every service is: FastAPI app, FastStream broker, Mongo, outbox relay, consumer.

Clients are born in the lifespan, never at import. A service describes itself with a ServiceSpec;
its `build` receives the Runtime, returns the service's deps object and routes its consumed events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from .auth import Authenticator
from .bus import EventConsumer, EventPublisher, ensure_topics, make_broker
from .clock import Clock, SystemClock
from .db import Database, ensure_indexes, make_client, ping
from .db import IndexSpec as IndexSpec
from .http import BodyLimit, health_router, install_error_handlers, install_request_metrics
from .inbox import Inbox
from .logging import configure_logging
from .openapi import install_problem_responses
from .outbox import OutboxRelay
from .settings import ServiceSettings
from .topics import dlq_of, topic_of

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a service's use cases may be wired with."""

    settings: ServiceSettings
    clock: Clock
    db: Database
    broker: KafkaBroker
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: EventConsumer


@dataclass(frozen=True)
class ServiceSpec:
    title: str
    description: str
    routers: Sequence[APIRouter]
    build: Callable[[Runtime], Awaitable[Any]]
    outbox_collections: Sequence[str] = ()
    indexes: Sequence[IndexSpec] = ()
    consumes: Sequence[str] = field(default_factory=tuple)
    tasks: Callable[[Any], Sequence[Callable[[], Coroutine[Any, Any, None]]]] | None = None
    """Long-running loops of the service (given its deps), run while the app runs."""
    body_limits: Callable[[Any], Mapping[str, int]] | None = None
    """Request body limits of particular paths (given the settings), above the default."""


def create_service_app(
    settings: ServiceSettings, spec: ServiceSpec, clock: Clock | None = None
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=_lifespan(settings, spec, clock or SystemClock()),
    )
    app.state.auth = Authenticator(settings)
    install_error_handlers(app)
    install_request_metrics(app, settings.service_name)
    per_path = spec.body_limits(settings) if spec.body_limits else None
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, per_path=per_path)
    app.include_router(health_router(lambda: _ready(app)))
    for router in spec.routers:
        app.include_router(router)
    install_problem_responses(app)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi(request: Request) -> Any:
        schema = AsyncAPI(
            request.app.state.runtime.broker, title=spec.title, schema_version="3.0.0"
        )
        return schema.to_specification().to_jsonable()

    return app


def _lifespan(
    settings: ServiceSettings, spec: ServiceSpec, clock: Clock
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_client(settings)
        db = client[settings.database_name]
        await ensure_indexes(db, spec.indexes)
        own = [
            topic_of(settings.service_name, settings.topic_prefix),
            dlq_of(settings.service_name, settings.topic_prefix),
        ]
        await ensure_topics(
            settings, own + [topic_of(p, settings.topic_prefix) for p in spec.consumes]
        )
        broker = make_broker(settings)
        publisher = EventPublisher(broker, settings)
        relay = OutboxRelay(
            db=db,
            publisher=publisher,
            collections=spec.outbox_collections,
            sweep_seconds=settings.outbox_sweep_seconds,
            clock=clock,
        )
        consumer = EventConsumer(broker, settings, Inbox(db), clock)
        runtime = Runtime(settings, clock, db, broker, publisher, relay, consumer)
        app.state.runtime = runtime
        app.state.deps = await spec.build(runtime)
        consumer.attach()
        await broker.start()
        relay.start()
        loops: list[asyncio.Task[None]] = [
            asyncio.create_task(run()) for run in (spec.tasks(app.state.deps) if spec.tasks else [])
        ]
        log.info("%s ready on %s:%s", settings.service_name, settings.http_host, settings.http_port)
        try:
            yield
        finally:
            await stop_tasks(loops)
            await relay.stop()
            await broker.stop()
            await client.close()

    return lifespan


async def _ready(app: FastAPI) -> dict[str, bool]:
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is None:
        return {"mongodb": False, "kafka": False}
    mongo, kafka = await asyncio.gather(ping(runtime.db), runtime.broker.ping(timeout=2.0))
    checks = {"mongodb": mongo, "kafka": bool(kafka)}
    if runtime.consumer.topics:  # false while every message read lately was dead-lettered
        checks["consumer"] = not runtime.consumer.failing
    return checks


def app_deps(request: Request) -> Any:
    """The deps object the service's build returned; routes annotate it with their own type."""
    return request.app.state.deps


async def stop_tasks(tasks: Sequence[asyncio.Task[Any]], rounds: int = 20) -> None:
    """Cancel until they end: a cancellation lost on the way (3.11's wait_for, or a client
    library catching it mid-I/O) must not keep a service from stopping."""
    pending = [task for task in tasks if not task.done()]
    for _ in range(rounds):
        if not pending:
            return
        for task in pending:
            task.cancel()
        _, still = await asyncio.wait(pending, timeout=0.5)
        pending = list(still)
    log.warning("%d background task(s) ignored cancellation", len(pending))
