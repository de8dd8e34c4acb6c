"""Request bodies take JSON's own types (decision 005): every boolean, integer, number, date and
date-time property of every request body of the five services, nested objects and arrays
included, sent as the other JSON type that pydantic's lax mode used to coerce (0 for false, false
or "3" for 3, a number for a date), is a 422 naming the property. The properties are read from each
service's OpenAPI document, so a field added later is tried too; no handler runs (each answer is
the validation's), so no broker or database is needed."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.runtime import app_deps
from shared.topics import SERVICES
from tests.helpers import SECRET, auth

EVERY_ROLE = auth(["admin", "supervisor", "agent", "service"], sub="strict.tester")
COERCED: dict[str, list[Any]] = {
    "boolean": [0, 1, "true"],
    "integer": [False, "3", 3.0],
    "number": [True, "0.5"],
    "date": [0, "20261120"],
    "date-time": [1_700_000_000, "1700000000"],
    "string": [3, True],
}
Schema = dict[str, Any]


def kind(schema: Schema) -> str | None:
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time"):
        return str(schema["format"])
    found = schema.get("type")
    return found if found in COERCED and "enum" not in schema else None


def resolved(schema: Schema, components: Schema) -> Schema:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def placements(schema: Schema, components: Schema, depth: int = 0) -> Iterator[tuple[Any, str]]:
    """(a body holding one wrong value, the dotted field it is at) for each scalar inside."""
    schema = resolved(schema, components)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if resolved(branch, components).get("type") != "null":
            yield from placements(branch, components, depth)
    if (found := kind(schema)) is not None:
        for value in COERCED[found]:
            yield value, ""
    if depth > 4:
        return
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        for value, at in placements(schema["items"], components, depth + 1):
            yield [value], f"0.{at}".rstrip(".")
    for name, inner in schema.get("properties", {}).items():
        for value, at in placements(inner, components, depth + 1):
            yield {name: value}, f"{name}.{at}".rstrip(".")
    if isinstance(schema.get("additionalProperties"), dict):
        key = (schema.get("propertyNames", {}).get("enum") or ["k"])[0]
        for value, at in placements(schema["additionalProperties"], components, depth + 1):
            yield {key: value}, f"{key}.{at}".rstrip(".")


def bodies(document: Schema) -> Iterator[tuple[str, str, Schema]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                url = path.replace("{", "").replace("}", "")  # a path parameter named as itself
                yield method, url, content["application/json"]["schema"]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_value_of_another_json_type_is_a_422_naming_its_field(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_JWT_SECRET", SECRET)
    app: Any = importlib.import_module(f"services.{service}.app").create_app()
    app.dependency_overrides[app_deps] = object  # validation answers before any handler runs
    document = app.openapi()
    components = document["components"]["schemas"]
    transport = httpx.ASGITransport(app=app)
    tried, accepted = 0, []
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        for method, url, schema in bodies(document):
            for body, field in placements(schema, components):
                response = await client.request(method, url, json=body, headers=EVERY_ROLE)
                named = [e["field"] for e in response.json().get("errors", [])]
                tried += 1
                if response.status_code != 422 or f"body.{field}" not in named:
                    accepted.append((method, url, body, response.status_code, named))
    assert tried, f"{service} has no request body with a scalar field"
    assert not accepted, accepted
