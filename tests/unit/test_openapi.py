"""Each service's OpenAPI document is valid OpenAPI 3.1 and declares the errors its routes answer
as the problem+json they are (shared/openapi.py), not FastAPI's default validation error."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from openapi_spec_validator import validate

from shared.topics import SERVICES

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


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
