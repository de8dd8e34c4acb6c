"""Errors use cases raise; shared/http.py maps them to problem+json in one place."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class FieldInvalid(DomainError):
    """A field that passed the schema but breaks a rule known only at run time (a limit)."""

    status = 422
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid transition"

    def __init__(self, current: str, target: str, allowed: Iterable[str]) -> None:
        self.allowed = sorted(allowed)
        super().__init__(f"cannot go from {current} to {target}; allowed: {self.allowed}")
