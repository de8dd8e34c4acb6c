"""Schemathesis against the five services as processes on the real Kafka and FerretDB: each
operation of each service's OpenAPI document is called with examples drawn from it (valid ones
and ones the document forbids), signed in with a real token of every role, and every answer must
be what the document says: no 5xx, a declared status code and content type, a body matching the
declared schema (schemathesis' default checks). A stateful run then chains calls along the links
schemathesis finds between operations. The figures of each service (operations, requests the
service counted, failures, 5xx) are printed at the end of the session."""

from __future__ import annotations

import asyncio
import importlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.schemas import OpenApiSchema

from shared.devstack import Stack
from shared.smtp_sink import MailSink, start
from shared.topics import SERVICES
from tests.e2e.conftest import FIGURES, Figures
from tests.helpers import SECRET, Infra, Isolation, auth

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("HELPDESK_SCHEMATHESIS_EXAMPLES", "10"))
STEPS = int(os.environ.get("HELPDESK_SCHEMATHESIS_STEPS", "4"))
EVERY_ROLE = auth(["admin", "supervisor", "agent", "service"], sub="schemathesis")
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # every run draws anew; nothing replays a previous run's examples
    suppress_health_check=list(HealthCheck),
)


def document(service: str) -> dict[str, Any]:
    """The service's OpenAPI document as its app makes it (the stack checks that it is served)."""
    module = importlib.import_module(f"services.{service}.app")
    settings = getattr(module, f"{service.capitalize()}Settings")(HELPDESK_JWT_SECRET=SECRET)
    found: dict[str, Any] = module.create_app(settings).openapi()
    return found


DOCUMENTS = {service: document(service) for service in SERVICES}
SCHEMAS: dict[str, OpenApiSchema] = {
    s: schemathesis.openapi.from_dict(d) for s, d in DOCUMENTS.items()
}
for _schema in SCHEMAS.values():
    # Not "a schema-valid request is accepted": drawn at random, a valid body names a queue, a
    # problem or a cursor that does not exist, and the declared 400/404/409 say so.
    _schema.config.checks.update(excluded_check_names=["positive_data_acceptance"])
    _schema.config.update(headers=EVERY_ROLE)  # known to schemathesis: it leaves them as they are
SERVICE_OF = {d["info"]["title"]: s for s, d in DOCUMENTS.items()}


@st.composite
def mail(draw: st.DrawFn) -> bytes:
    """An RFC 822 message for POST /v1/inbound/email: a plain one, or bytes of any kind."""
    line = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=80)
    plain = (
        f"From: {draw(st.sampled_from(['ann@example.org', 'bo@globex.example', 'x']))}\r\n"
        f"To: help@switchboard.example\r\nSubject: {draw(line)}\r\n"
        f"Message-ID: <{draw(st.uuids())}@example.org>\r\n\r\n{draw(st.text(max_size=400))}"
    ).encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([plain, draw(st.binary(max_size=400))]))


schemathesis.openapi.media_type("message/rfc822", mail())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def served(stack: Stack, service: str) -> tuple[int, int]:
    """(requests, 5xx answers) the service has counted in its request-latency histogram."""
    text = httpx.get(stack.url(service) + "/metrics", timeout=10).text
    requests = errors = 0
    for line in text.splitlines():
        if line.startswith("helpdesk_http_request_duration_seconds_count{"):
            count = int(float(line.rsplit(" ", 1)[1]))
            requests += count
            errors += count if 'status="5' in line else 0
    return requests, errors


def count_from_here(stack: Stack, figures: dict[str, Figures]) -> None:
    for service in SERVICES:
        served_document = httpx.get(stack.url(service) + "/openapi.json", timeout=10).json()
        assert served_document == DOCUMENTS[service], f"{service} serves another document"
        figures.setdefault(service, Figures()).before = served(stack, service)


def count_up_to_here(stack: Stack, figures: dict[str, Figures]) -> None:
    for service in SERVICES:
        requests, errors = served(stack, service)
        before = figures[service].before
        figures[service].requests += requests - before[0]
        figures[service].server_errors += errors - before[1]


@pytest.fixture(scope="module")
async def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> AsyncIterator[Stack]:
    iso = Isolation(infra)
    controller = start(MailSink())
    ports = {service: free_port() for service in SERVICES}
    logs = Path(tmp_path_factory.mktemp("schemathesis")) / "logs"
    env = iso.env(HELPDESK_SMTP_PORT=str(controller.port), HELPDESK_TRACKER_WEBHOOK_SECRET=SECRET)
    stack = Stack(env, ports=ports, log_dir=logs)
    stack.start_all()
    figures = pytestconfig.stash.setdefault(FIGURES, {})
    try:
        await asyncio.to_thread(stack.wait_ready, 90)
        await asyncio.to_thread(count_from_here, stack, figures)
        yield stack
        await asyncio.to_thread(count_up_to_here, stack, figures)
    finally:
        stack.stop_all()
        controller.stop()
        await iso.cleanup()


@schemathesis.pytest.parametrize(**SCHEMAS)
@HYPOTHESIS
def test_every_operation_answers_as_its_document_says(
    case: Any, stack: Stack, pytestconfig: pytest.Config
) -> None:
    service = SERVICE_OF[case.operation.schema.raw_schema["info"]["title"]]
    figures = pytestconfig.stash[FIGURES][service]
    figures.operations.add(case.operation.label)
    try:
        case.call_and_validate(base_url=stack.url(service))
    except FailureGroup:
        figures.failing.add(case.operation.label)
        raise


@pytest.mark.parametrize("service", SERVICES)
def test_calls_chained_along_the_links_answer_as_documented(service: str, stack: Stack) -> None:
    base = SCHEMAS[service].as_state_machine()
    where = {"base_url": stack.url(service)}

    class Machine(base):  # type: ignore[valid-type, misc]  # a class schemathesis builds
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return where

    Machine.run(
        settings=settings(HYPOTHESIS, max_examples=max(2, EXAMPLES // 3), stateful_step_count=STEPS)
    )
