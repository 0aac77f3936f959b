"""How a negotiation's state is laid out in a Redis hash, so that a batch writes only what it
changed: ``r:<event_id>`` one registry record each, ``v:@head`` the headline fields (status,
version, position, corrections, ...), ``v:<section>:<key>`` one view entry each.

``delta`` encodes what the given events changed (their records, the entries they touch, the
headline); when an event may change anything (a correction or a retraction) or the state is
new, ``full`` encodes everything and the hash is replaced.

Values are compact UTF-8 JSON written by orjson (states hold only JSON data with str keys and
64-bit integers); they are never hashed, so they need not be canonical. Two layouts keep what
each event adds to the hash small, and ``decode`` gives back the very state, key order
included:

- A registry record whose keys are those of ``RECORD_LAYOUTS[1]`` in that order is stored as
  the JSON array ``[1, ...its values]`` (the field names once in this module, not per event).
- A view entry keyed by an event whose record is in the same hash is stored without its
  leading items that equal the items it would be derived from: the record's payload fields,
  then the origin (``event_id``, ``occurred_at``, ``occurred_until``, ``verification``,
  ``corrected``), in that order (``_derived``). ``{"@p": n, ...the other items}`` takes its
  first ``n`` items from them when read; a context note's entry is ``{"@p":8}``, and its text
  is kept once per state. A record changes only through a correction or a retraction, which
  rewrites the whole hash, so an entry never outlives the record it was reduced against.

States written before these layouts (records as objects, entries ``{"@r": 1, ...}`` taking the
payload's fields first) read as they did.

An event that declares the entries it touches changes only them and the headline, and its
fold reads nothing else: ``slice_fields`` names those fields (each entry with its event's
record, which a ``@p`` entry is filled from; an entry keyed by the event itself is new, so not
read), so an applier reads and holds a state's slice, not every event the negotiation ever
had. ``merge`` adds more fields read later to a slice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import orjson

from projections.negotiation import SECTIONS, State, empty, touches
from projections.shapes import Record, Section

HEAD = "v:@head"
REF = "@r"  # the former layout: the payload's fields first
PREFIX = "@p"
RECORD_LAYOUTS: dict[int, tuple[str, ...]] = {
    1: (
        "type",
        "payload",
        "occurred_at",
        "occurred_until",
        "position",
        "version",
        "recorded_at",
        "recorded_by",
        "hash",
        "verification",
        "modality",
        "sources",
        "corrected_by",
        "retracted_by",
    )
}
LAYOUT = 1


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)


def _record(record: Record) -> bytes:
    """A registry record, as an array when its keys are the layout's (see above)."""
    if tuple(record) != RECORD_LAYOUTS[LAYOUT]:
        return _dump(record)
    return _dump([LAYOUT, *record.values()])


def _record_from(value: Any) -> Record:
    if isinstance(value, list):
        keys = RECORD_LAYOUTS[value.pop(0)]
        if len(keys) != len(value):
            raise ValueError(f"a registry record of {len(value)} values, not {len(keys)}")
        return cast(Record, dict(zip(keys, value, strict=False)))
    return cast(Record, value)


def _origin(key: str, record: Record) -> dict[str, Any]:
    """The origin items of an entry keyed by ``key``, as ``projections.negotiation._origin``
    writes them (without grades)."""
    return {
        "event_id": key,
        "occurred_at": record["occurred_at"],
        "occurred_until": record["occurred_until"],
        "verification": record["verification"],
        "corrected": bool(record["corrected_by"]),
    }


def _derived(key: str, record: Record) -> list[tuple[str, Any]]:
    """The items an entry keyed by ``key`` is reduced from, in the order reducers write
    them: the payload's fields, then the origin."""
    payload = record["payload"]
    items = list(payload.items()) if isinstance(payload, dict) else []
    return items + list(_origin(key, record).items())


def _entry(state: State, key: str, entry: Any) -> bytes:
    """A view entry, without the leading items its record gives back (see above)."""
    record = state["registry"].get(key)
    if record is None or not isinstance(entry, dict) or PREFIX in entry or REF in entry:
        return _dump(entry)
    shared = 0
    for (name, value), (derived, wanted) in zip(entry.items(), _derived(key, record), strict=False):
        # equal, and of the same type at the top (True == 1, but they encode apart)
        if name != derived or (
            value is not wanted and (type(value) is not type(wanted) or value != wanted)
        ):
            break
        shared += 1
    if shared == 0:
        return _dump(entry)
    if shared == len(entry):
        return b'{"@p":%d}' % shared
    rest = dict(list(entry.items())[shared:])
    return _dump({PREFIX: shared, **rest})


def full(state: State) -> dict[str, bytes]:
    fields = {f"r:{event_id}": _record(rec) for event_id, rec in state["registry"].items()}
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
        fields[f"r:{wire['event_id']}"] = _record(state["registry"][wire["event_id"]])
        for section, key in touched:
            if key in view[section]:
                fields[f"v:{section}:{key}"] = _entry(state, key, view[section][key])
    fields[HEAD] = _dump({k: v for k, v in view.items() if k not in SECTIONS})
    return fields


def slice_fields(wire: dict[str, Any]) -> set[str] | None:
    """The fields an event's fold reads (the headline, each touched entry and the record of
    the same key), or None when it may read any (corrections). An entry keyed by the event
    itself (a note, a demand) is only written: no earlier event has its id (ids are minted
    once, at the seal), so a batch of such events reads the headline alone, which a slice
    kept between batches holds."""
    touched = touches(wire)
    if touched is None:
        return None
    fields = {HEAD}
    own = wire["event_id"]
    for section, key in touched:
        if key != own:
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
            records.append((name[2:], _record_from(value)))
        elif name == HEAD:
            state["view"].update(value)
        else:
            _, section, key = name.split(":", 2)
            if isinstance(value, dict) and (PREFIX in value or value.get(REF) == 1):
                shared.append((cast(Section, section), key, value))
            state["view"][cast(Section, section)][key] = value  # a name this module wrote
    records.sort(key=lambda item: item[1]["position"] or 0)
    state["registry"] = dict(records)
    for section, key, rest in shared:
        state["view"][section][key] = _filled(state["registry"][key], key, rest)
    return state


def _filled(record: Record, key: str, stored: dict[str, Any]) -> Any:
    """A view entry from its stored items and its record (see above)."""
    if REF in stored:
        del stored[REF]
        return {**cast(dict[str, Any], record["payload"]), **stored}
    shared = stored.pop(PREFIX)
    payload = record["payload"]
    origin = _origin(key, record)
    if not stored and isinstance(payload, dict) and shared == len(payload) + len(origin):
        return {**payload, **origin}  # the whole entry, as _derived lists it
    filled = dict(_derived(key, record)[:shared])
    filled.update(stored)
    return filled
