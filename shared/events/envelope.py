"""The CloudEvents 1.0 envelope (structured mode, JSON) every Switchboard event travels in."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DataT = TypeVar("DataT")


class EventData(BaseModel):
    """Base of every event's `data`; unknown fields are kept so newer producers do not break us."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Event(BaseModel, Generic[DataT]):
    """One CloudEvent. Subclasses fix `type` with a Literal and `data` with their data model."""

    model_config = ConfigDict(frozen=True, extra="allow")
    schema_version: ClassVar[int] = 1

    specversion: str = Field(default="1.0", description="CloudEvents version, always 1.0")
    id: str = Field(description="Unique event id (uuid); consumers deduplicate on it")
    type: str = Field(description="Event type, e.g. ticket.created")
    source: str = Field(description="The producing service")
    time: datetime = Field(description="When the fact happened (UTC)")
    subject: str = Field(description="Aggregate id: the ticket id for ticket events")
    dataschema: str = Field(description="helpdesk/<type>/<version>")
    correlationid: str = Field(description="Id of the first event of this chain")
    datacontenttype: str = Field(default="application/json")
    data: DataT

    @classmethod
    def event_type(cls) -> str:
        default = cls.model_fields["type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} does not fix its type")
        return default

    @classmethod
    def create(
        cls,
        *,
        source: str,
        subject: str,
        data: DataT,
        time: datetime,
        correlation_id: str | None = None,
    ) -> Self:
        """A new event; it starts its own correlation chain unless one is given."""
        event_id = str(uuid4())
        return cls(
            id=event_id,
            type=cls.event_type(),
            source=source,
            time=time,
            subject=subject,
            dataschema=f"helpdesk/{cls.event_type()}/{cls.schema_version}",
            correlationid=correlation_id or event_id,
            data=data,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class UnknownEvent(Event[dict[str, Any]]):
    """An event whose type this build does not know: consumers skip it rather than fail."""


class MalformedEvent(ValueError):
    """The bytes are not a valid event: never retried, always dead-lettered."""


EVENT_CLASSES: dict[str, type[Event[Any]]] = {}


def register(*classes: type[Event[Any]]) -> None:
    for cls in classes:
        EVENT_CLASSES[cls.event_type()] = cls


def parse_event(raw: bytes | str | dict[str, Any]) -> Event[Any]:
    """Bytes from Kafka to the event class its `type` names (UnknownEvent for a type we lack)."""
    try:
        body = raw if isinstance(raw, dict) else json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise MalformedEvent("an event must be a JSON object")
    if body.get("specversion") != "1.0":
        raise MalformedEvent(f"unsupported specversion {body.get('specversion')!r}")
    cls = EVENT_CLASSES.get(str(body.get("type")), UnknownEvent)
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        raise MalformedEvent(f"invalid {body.get('type')}: {exc}") from exc
