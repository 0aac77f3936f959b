"""JSON Schema export: one file per event type, plus the union of all published events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from events.recorded import DRAFT, Stamp
from events.types import EVENT_TYPES


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every published type, the union and the server stamp."""
    out = {f"{name}.json": cls.model_json_schema() for name, cls in sorted(EVENT_TYPES.items())}
    out["Event.json"] = DRAFT.json_schema()
    out["Stamp.json"] = Stamp.model_json_schema()
    return out


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
