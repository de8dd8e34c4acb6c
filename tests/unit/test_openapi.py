"""Each service's OpenAPI document is valid OpenAPI 3.1 and declares the errors its routes answer
as the problem+json they are (shared/openapi.py), not FastAPI's default validation error."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from shared.topics import SERVICES

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def document(service: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("HELPDESK_JWT_SECRET", "a-secret-for-the-openapi-documents-0123456789")
    app: Any = importlib.import_module(f"services.{service}.app").create_app()
    schema: dict[str, Any] = app.openapi()
    return schema


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_is_valid_and_declares_every_error_as_a_problem(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = document(service, monkeypatch)
    validate(schema)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        responses = operation["responses"]
        expected = {"400", "401", "403", "422"} | ({"404"} if "{" in path else set())
        if method != "get":
            expected |= {"409", "413"}
        assert expected <= set(responses), (path, method, sorted(responses))
        for status in expected:
            assert responses[status]["content"] == PROBLEM, (path, method, status)


@pytest.mark.parametrize(
    ("service", "path", "allowed"),
    [
        ("intake", "/v1/tickets", "GET, POST, HEAD"),
        ("intake", "/v1/tickets/HD-000001", "GET, HEAD"),
        ("problems", "/v1/deficiency-reports/tracker-updates", "POST"),
        ("problems", "/v1/deficiency-reports/DR-000001", "GET, PATCH, HEAD"),
        ("sla", "/healthz", "GET, HEAD"),
    ],
)
async def test_a_method_not_allowed_names_every_method_the_document_gives_the_path(
    service: str, path: str, allowed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_JWT_SECRET", "a-secret-for-the-openapi-documents-0123456789")
    app: Any = importlib.import_module(f"services.{service}.app").create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.request("OPTIONS", path)
    assert (response.status_code, response.headers["allow"]) == (405, allowed)
    assert response.headers["content-type"] == "application/problem+json"
