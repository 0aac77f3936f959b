"""How a negotiation's state is laid out in a Redis hash, so that a batch writes only what it
changed: ``r:<event_id>`` one registry record each, ``v:@head`` the headline fields (status,
version, position, corrections, ...), ``v:<section>:<key>`` one view entry each.

``delta`` encodes what the given events changed (their records, the entries they touch, the
headline); when an event may change anything (a correction or a retraction) or the state is
new, ``full`` encodes everything and the hash is replaced.

Values are compact UTF-8 JSON written by orjson (states hold only JSON data with str keys and
64-bit integers); they are never hashed, so they need not be canonical.

A view entry keyed by an event whose registry record is in the same hash, and holding every
field of that record's payload unchanged (a context note's text, say), is stored without
them: ``{"@r": 1, ...the other fields}``, filled in again from the record when read. The text
of an event is then kept once per state, not twice.

An event that declares the entries it touches changes only them and the headline, and its
fold reads nothing else: ``slice_fields`` names those fields (each entry with its event's
record, which an ``@r`` entry is filled from), so an applier reads and holds a state's slice,
not every event the negotiation ever had. ``merge`` adds more fields read later to a slice.
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


REF = "@r"


def _entry(state: State, key: str, entry: Any) -> bytes:
    """A view entry, without the fields it shares with its event's payload (see above)."""
    record = state["registry"].get(key)
    if record is None or not isinstance(entry, dict):
        return _dump(entry)
    payload: dict[str, Any] = cast(dict[str, Any], record["payload"])
    missing = object()
    if not payload or any(entry.get(k, missing) != v for k, v in payload.items()):
        return _dump(entry)
    if list(entry)[: len(payload)] != list(payload):  # read back in the same key order only
        return _dump(entry)
    return _dump({REF: 1, **{k: v for k, v in entry.items() if k not in payload}})


def full(state: State) -> dict[str, bytes]:
    fields = {f"r:{event_id}": _dump(rec) for event_id, rec in state["registry"].items()}
    view = state["view"]
    fields[HEAD] = _dump({k: v for k, v in view.items() if k not in SECTIONS})
    for section in SECTIONS:
        for key, entry in view[section].items():
            fields[f"v:{section}:{key}"] = _entry(state, key, entry)
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
                fields[f"v:{section}:{key}"] = _entry(state, key, view[section][key])
    fields[HEAD] = _dump({k: v for k, v in view.items() if k not in SECTIONS})
    return fields


def slice_fields(wire: dict[str, Any]) -> set[str] | None:
    """The fields an event's fold reads and its ``delta`` writes (the headline, each touched
    entry and the record of the same key), or None when it may read any (corrections)."""
    touched = touches(wire)
    if touched is None:
        return None
    fields = {HEAD}
    for section, key in touched:
        fields |= {f"v:{section}:{key}", f"r:{key}"}
    return fields


def merge(state: State, more: State) -> None:
    """Adds the records and view entries of ``more`` (fields of the same hash read later) to
    the slice ``state``; the headline stays ``state``'s own."""
    state["registry"].update(more["registry"])
    for section in SECTIONS:
        entries: dict[str, Any] = cast(dict[str, Any], state["view"][section])
        entries.update(more["view"][section])


def trim(state: State) -> tuple[State, set[str]]:
    """The slice of ``state`` worth holding between batches, and its fields: the headline and
    the view entries not keyed by an event (a party, an issue, a meeting: later events touch
    them again). The records, and the entries keyed by their own event (a note), are left to
    Redis: only a correction reads them again, and it reads the whole state."""
    registry = state["registry"]
    slim = empty()
    slim["view"].update({k: v for k, v in state["view"].items() if k not in SECTIONS})  # type: ignore[typeddict-item]
    fields = {HEAD}
    for section in SECTIONS:
        entries: dict[str, Any] = cast(dict[str, Any], slim["view"][section])
        for key, entry in state["view"][section].items():
            if key not in registry:
                entries[key] = entry
                fields |= {f"v:{section}:{key}", f"r:{key}"}
    return slim, fields


def decode(fields: dict[bytes, bytes]) -> State:
    if not fields:
        return empty()
    state = empty()
    records: list[tuple[str, Record]] = []
    shared: list[tuple[Section, str, dict[str, Any]]] = []
    for raw_name, raw in fields.items():
        name = raw_name.decode()
        value = orjson.loads(raw)
        if name.startswith("r:"):
            records.append((name[2:], value))
        elif name == HEAD:
            state["view"].update(value)
        else:
            _, section, key = name.split(":", 2)
            if isinstance(value, dict) and value.get(REF) == 1:
                shared.append((cast(Section, section), key, value))
            state["view"][cast(Section, section)][key] = value  # a name this module wrote
    records.sort(key=lambda item: item[1]["position"] or 0)
    state["registry"] = dict(records)
    for section, key, rest in shared:
        del rest[REF]
        payload = cast(dict[str, Any], state["registry"][key]["payload"])
        filled: Any = {**payload, **rest}
        state["view"][section][key] = filled
    return state
