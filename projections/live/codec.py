"""How a negotiation's state is laid out in a Redis hash, so that a batch writes only what it
changed: ``r:<event_id>`` one registry record each, ``v:@head`` the headline fields (status,
version, position, corrections, ...), ``v:<section>:<key>`` one view entry each.

``delta`` encodes what the given events changed (their records, the entries they touch, the
headline); when an event may change anything (a correction or a retraction) or the state is
new, ``full`` encodes everything and the hash is replaced.

Values are compact UTF-8 JSON written by orjson (states hold only JSON data with str keys and
64-bit integers); they are never hashed, so they need not be canonical.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import orjson

from projections.negotiation import SECTIONS, State, empty, touches
from projections.shapes import Record, Section

HEAD = "v:@head"


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


def full(state: State) -> dict[str, bytes]:
    fields = {f"r:{event_id}": _dump(rec) for event_id, rec in state["registry"].items()}
    view = state["view"]
    fields[HEAD] = _dump({k: v for k, v in view.items() if k not in SECTIONS})
    for section in SECTIONS:
        for key, entry in view[section].items():
            fields[f"v:{section}:{key}"] = _dump(entry)
    return fields


def delta(state: State, wires: Iterable[dict[str, Any]]) -> dict[str, bytes] | None:
    """The fields the events changed, or None when only a full rewrite is right."""
    view = state["view"]
    fields: dict[str, bytes] = {}
    for wire in wires:
        touched = touches(wire)
        if touched is None:
            return None
        fields[f"r:{wire['event_id']}"] = _dump(state["registry"][wire["event_id"]])
        for section, key in touched:
            if key in view[section]:
                fields[f"v:{section}:{key}"] = _dump(view[section][key])
    fields[HEAD] = _dump({k: v for k, v in view.items() if k not in SECTIONS})
    return fields


def decode(fields: dict[bytes, bytes]) -> State:
    if not fields:
        return empty()
    state = empty()
    records: list[tuple[str, Record]] = []
    for raw_name, raw in fields.items():
        name = raw_name.decode()
        value = orjson.loads(raw)
        if name.startswith("r:"):
            records.append((name[2:], value))
        elif name == HEAD:
            state["view"].update(value)
        else:
            _, section, key = name.split(":", 2)
            state["view"][cast(Section, section)][key] = value  # a name this module wrote
    records.sort(key=lambda item: item[1]["position"] or 0)
    state["registry"] = dict(records)
    return state
