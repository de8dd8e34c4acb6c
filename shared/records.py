"""Stored records in and out of their models, with the two rules every service keeps:

- a partial update yields a state the full model accepts, or nothing is stored (`patched`:
  422 naming the field; `null` clears a field only where the model allows None);
- one record that no longer loads (written by an older version, or corrupted by hand) is a data
  error about that record, never an outage: it is logged with its id, counted in
  `helpdesk_<service>_bad_records_total{collection}`, and left out of lists and event
  handling (`loaded`), or refused on its own with a 409 that says how to repair it (`load_one`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError

from .errors import Conflict, FieldInvalid

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
_COUNTERS: dict[str, Counter] = {}


def bad_records(service: str) -> Counter:
    """The service's counter of stored records that failed to load (one per process)."""
    if service not in _COUNTERS:
        _COUNTERS[service] = Counter(
            f"helpdesk_{service}_bad_records_total",
            "Stored records that failed to load and were left out",
            ["collection"],
        )
    return _COUNTERS[service]


def patched(model: M, fields: Mapping[str, Any]) -> M:
    """`model` with `fields` set, validated as a whole model (model_copy validates nothing)."""
    try:
        return type(model).model_validate({**model.model_dump(), **fields})
    except ValidationError as exc:
        raise invalid(exc) from None


def invalid(exc: ValidationError) -> FieldInvalid:
    """The first failing field of a validation error as a 422, naming every failing field."""
    errors = exc.errors()
    names = [".".join(str(p) for p in e.get("loc", ())) or "body" for e in errors]
    first = errors[0] if errors else {"msg": "invalid"}
    detail = str(first.get("msg", "invalid"))
    if len(names) > 1:
        detail += f" (also invalid: {', '.join(names[1:])})"
    return FieldInvalid(names[0] if names else "body", detail)


class BadRecord(Conflict):
    """A stored record that does not load; the API answers 409 and names it."""

    title = "Stored record unreadable"

    def __init__(self, collection: str, record_id: str, problem: str) -> None:
        super().__init__(
            f"{collection} record {record_id!r} is stored in a form this version cannot read "
            f"({problem}); it is left out until an operator repairs it"
        )
        self.collection = collection
        self.record_id = record_id


def load_one(model: type[M], doc: Mapping[str, Any], collection: str, service: str) -> M:
    """The record, or BadRecord (logged and counted) when it does not load."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        record_id = _id_of(doc)
        _count(service, collection, record_id, exc)
        raise BadRecord(collection, record_id, _summary(exc)) from None


def loaded(
    model: type[M], docs: Iterable[Mapping[str, Any]], collection: str, service: str
) -> list[M]:
    """The records that load; each one that does not is logged, counted and left out."""
    records: list[M] = []
    for doc in docs:
        try:
            records.append(model.model_validate(doc))
        except ValidationError as exc:
            _count(service, collection, _id_of(doc), exc)
    return records


def _count(service: str, collection: str, record_id: str, exc: ValidationError) -> None:
    bad_records(service).labels(collection).inc()
    log.error("stored %s record %r does not load: %s", collection, record_id, _summary(exc))


def _summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'record'}: {e.get('msg', '')}"
        for e in exc.errors()[:3]
    ]
    return "; ".join(parts)


def _id_of(doc: Mapping[str, Any]) -> str:
    if not isinstance(doc, Mapping):
        return "?"
    for key in ("_id", "id", "ticket_id", "version"):
        if key in doc:
            return str(doc[key])[:200]
    return "?"
