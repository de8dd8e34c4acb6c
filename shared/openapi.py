"""The OpenAPI document says every error a route can answer, as the problem+json it is.

FastAPI declares only the 200 and its own 422 (with a schema our handlers never send). Every
`/v1` operation here can also answer 400 (a rule of the domain), 401 and 403 (tokens and roles,
shared/auth.py), 404 when its path names something, 409 when it changes state, 413 when it takes
a body (shared/http.BodyLimit), and 422 (shared/http.py's validation handler): all of them as
`application/problem+json` with the `ProblemDetails` schema. Responses a route declares itself
are kept.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

# not "Problem": the problems service has a model of that name, whose schema it replaced
PROBLEM_NAME = "ProblemDetails"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "The fields that failed, for 422",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "allowed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "For an invalid transition: the states allowed from here",
        },
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    "400": "A rule of the domain refused the request",
    "401": "No valid bearer token",
    "403": "The token's roles do not allow this",
    "404": "Not found (or not visible to this caller)",
    "409": "In conflict with the current state",
    "413": "The body is larger than the limit",
    "422": "A field is invalid",
}
CHANGES = {"post", "put", "patch", "delete"}


def statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer (see the module's docstring)."""
    found = ["400", "401", "403", "422"]
    if "{" in path:
        found.append("404")
    if method in CHANGES:
        found.append("409")
    if "requestBody" in operation or method in CHANGES:
        found.append("413")
    return sorted(found)


def with_problems(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if PROBLEM_NAME in schemas:  # a model of the same name would lose its schema to ours
        raise ValueError(f"a model is named {PROBLEM_NAME}, the name of the error schema")
    schemas[PROBLEM_NAME] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = {
        "application/problem+json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM_NAME}"}}
    }
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status in statuses(path, method, operation):
                declared = responses.get(status)
                if declared is None or status == "422":
                    description = (declared or {}).get("description") or DESCRIPTIONS[status]
                    responses[status] = {"description": description, "content": problem}
                else:
                    declared["content"] = problem
    return schema


def install_problem_responses(app: FastAPI) -> None:
    def generate() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = generate  # type: ignore[method-assign]  # FastAPI's documented way
