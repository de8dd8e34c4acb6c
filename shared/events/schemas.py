"""JSON Schemas of every event for downstream subscribers: python -m shared.events.schemas DIR."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from . import EVENT_CLASSES


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, one per event type and version (the event's dataschema)."""
    result: dict[str, dict[str, Any]] = {}
    for event_type, cls in sorted(EVENT_CLASSES.items()):
        schema = TypeAdapter(cls).json_schema()
        schema["$id"] = f"helpdesk/{event_type}/{cls.schema_version}"
        schema["title"] = event_type
        result[f"{event_type}.v{cls.schema_version}.json"] = schema
    return result


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path, nargs="?", default=Path("docs/schemas"))
    args = parser.parse_args(argv)
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        (args.directory / name).write_text(render(schema))
    print(f"wrote {len(EVENT_CLASSES)} schemas to {args.directory}")


if __name__ == "__main__":
    main()
