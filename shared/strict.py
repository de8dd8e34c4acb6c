"""The types of request-body fields that take only the JSON type their schema names (decision 005).

FastAPI validates a decoded JSON body in pydantic's lax python mode, which turns `0` into `false`,
`false` and `"3"` into `3`, and a number or a numeric string into a datetime (seconds since 1970).
A client's mistake then passes unseen and the OpenAPI document says less than the truth. A whole
model in strict mode is no answer: in python mode it refuses the ISO strings that JSON writes dates,
times, UUIDs and enum values as. So each boolean, integer, number, date and date-time field of a
body is declared with one of these; the rest (strings, enums, UUIDs, e-mail addresses) already take
only strings, and JSON object keys are strings by nature, so a dict's int keys stay lax.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PydanticUserError,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


def _written_as_iso(value: Any) -> Any:
    """A string in ISO 8601 (or a date already made by our own code): pydantic would also read
    a number, or a string of digits, as seconds since 1970."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError('a date is a string "YYYY-MM-DD", a date-time "YYYY-MM-DDThh:mm:ssZ"')


IsoDate = Annotated[date, BeforeValidator(_written_as_iso)]
IsoDatetime = Annotated[datetime, BeforeValidator(_written_as_iso)]

__all__ = ["IsoDate", "IsoDatetime", "StrictBool", "StrictFloat", "StrictInt", "Trimmed"]


class Trimmed(BaseModel):
    """A body whose strings are trimmed (str_strip_whitespace), and measured as they were sent:
    pydantic checks max_length after trimming, so " x" was accepted where the document says a
    string of at most one character. Each field is checked first as sent, untrimmed."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _measured_as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        adapter = _as_sent(cls, info.field_name) if info.field_name is not None else None
        if adapter is not None and isinstance(value, str | list | dict):
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                too_long = [e for e in exc.errors() if e["type"] == "string_too_long"]
                if too_long:
                    raise ValueError(too_long[0]["msg"]) from None
        return value


@cache
def _as_sent(model: type[BaseModel], name: str) -> TypeAdapter[Any] | None:
    """The field's type without trimming; None for a model, which is measured by its own."""
    field = model.model_fields[name]
    typed: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    try:
        return TypeAdapter(typed, config=UNTRIMMED)
    except PydanticUserError:
        return None


UNTRIMMED = ConfigDict(str_strip_whitespace=False)
