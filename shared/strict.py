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
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool, StrictFloat, StrictInt

ISO_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}")


def _written_as_iso(value: Any) -> Any:
    """A string in ISO 8601 (or a date already made by our own code): pydantic would also read
    a number, or a string of digits, as seconds since 1970."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError('a date is a string "YYYY-MM-DD", a date-time "YYYY-MM-DDThh:mm:ssZ"')


IsoDate = Annotated[date, BeforeValidator(_written_as_iso)]
IsoDatetime = Annotated[datetime, BeforeValidator(_written_as_iso)]

__all__ = ["IsoDate", "IsoDatetime", "StrictBool", "StrictFloat", "StrictInt"]
