"""The ``negotiation`` reducer: a negotiation's current state, as plain JSON-able data.

``fold(state, events)`` returns a new state and never mutates its input; ``apply(state,
event)`` is a fold of one. Events are recorded events in their wire form (dicts with
``position``, as read from the store or the Redis stream) or ``RecordedEvent`` objects; wire
forms are upcast first, never re-validated (they were validated when recorded); their payloads
are shared with the state, never changed in place.

The state keeps a registry of every visible event's effective payload: a correction patches its
target there and a retraction marks it, and the view is then re-derived from the registry, so a
corrected event reads as if it had been right all along.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, cast

from events import CORRECTIONS, RecordedEvent
from events.lifecycle import next_status
from events.upcasting import upcast
from events.wire import EventCorrectedPayloadWire, EventRetractedPayloadWire, Wire
from projections.grades import source_grades
from projections.kinds import REDUCERS, TOUCHES
from projections.shapes import (
    SECTIONS,
    CorrectionEntry,
    Origin,
    Record,
    Registry,
    State,
    Touch,
    View,
)

__all__ = ["SECTIONS", "Event", "State", "Touch", "View", "apply", "fold", "fold_into"]


def empty() -> State:
    return {"registry": {}, "view": _blank_view()}


Event = RecordedEvent | dict[str, Any]  # JSON boundary: an event as read from store or stream


def apply(state: State | None, event: Event) -> State:
    return fold(state, [event])


def fold(
    state: State | None, events: Iterable[Event], *, types: frozenset[str] = frozenset()
) -> State:
    """``types``, when given, keeps only those event types (and corrections of them)."""
    return fold_into(copy.deepcopy(state) if state is not None else empty(), events, types=types)


def fold_into(
    state: State, events: Iterable[Event], *, types: frozenset[str] = frozenset()
) -> State:
    """``fold`` into a state the caller owns and no longer shares (no copy is made)."""
    for event in events:
        wire = wire_of(event)
        if not types or wire["type"] in types or wire["type"] in CORRECTIONS:
            _step(state, wire)
    return state


def wire_of(event: Event) -> Wire:
    """The event's wire form at its current schema version (read as recorded: not validated
    again, so its shape is taken on trust)."""
    return cast(Wire, upcast(event.wire if isinstance(event, RecordedEvent) else event))


def view(state: State) -> View:
    return state["view"]


def record_of(wire: Wire) -> Record:
    return {
        "type": wire["type"],
        "payload": wire["payload"],  # shared, never changed in place (patches replace it)
        "occurred_at": wire["occurred_at"],
        "occurred_until": wire.get("occurred_until"),
        "position": wire.get("position"),
        "version": wire["version"],
        "recorded_at": wire["recorded_at"],
        "recorded_by": wire["recorded_by"],
        "hash": wire["hash"],
        "verification": wire["verification"],
        "modality": wire.get("modality", "actual"),
        "sources": wire["sources"],
        "corrected_by": [],
        "retracted_by": None,
    }


Correction = EventCorrectedPayloadWire | EventRetractedPayloadWire


def correction_of(rec: Record) -> Correction:
    """The payload of a correction or retraction record (its type says which)."""
    return cast(Correction, rec["payload"])


def patch_of(rec: Record) -> dict[str, object]:
    """The fields a correction record changes (none for a retraction)."""
    if rec["type"] == "EventCorrected":
        return cast(EventCorrectedPayloadWire, rec["payload"])["patch"]
    return {}


def _step(state: State, wire: Wire) -> None:
    registry = state["registry"]
    rec = record_of(wire)
    event_id = wire["event_id"]
    view_ = state["view"]
    view_["negotiation_id"] = wire["negotiation_id"]
    view_["version"] = wire["version"]
    view_["position"] = wire.get("position")
    if rec["type"] not in CORRECTIONS:
        registry[event_id] = rec
        _derive(view_, event_id, rec)
        return
    target = registry.get(correction_of(rec)["target_event_id"])
    if target is None:
        return  # its target is outside this fold (as_of, or a type filter): nothing to correct
    registry[event_id] = rec
    if rec["type"] == "EventCorrected":
        target["payload"] = {**target["payload"], **patch_of(rec)}
        target["corrected_by"].append(event_id)
    else:
        target["retracted_by"] = event_id
    state["view"] = _rederive(registry, view_)


def _rederive(registry: Registry, old: View) -> View:
    fresh = _blank_view()
    fresh["negotiation_id"] = old["negotiation_id"]
    fresh["version"] = old["version"]
    fresh["position"] = old["position"]
    for event_id, rec in registry.items():
        if rec["type"] in CORRECTIONS:
            fresh["corrections"].append(_correction_entry(event_id, rec))
        elif rec["retracted_by"] is None:
            _derive(fresh, event_id, rec)
        else:
            fresh["retracted"].append(event_id)
    return fresh


def _correction_entry(event_id: str, rec: Record) -> CorrectionEntry:
    p = correction_of(rec)
    return {
        "event_id": event_id,
        "type": rec["type"],
        "target_event_id": p["target_event_id"],
        "fields": sorted(patch_of(rec)),
        "reason": p["reason"],
        "recorded_at": rec["recorded_at"],
    }


def _blank_view() -> View:
    return {
        "negotiation_id": None,
        "title": None,
        "format": None,
        "framework_ref": None,
        "external_ids": None,
        "status": None,
        "opened_at": None,
        "version": 0,
        "position": None,
        "issues": {},
        "parties": {},
        "delegations": {},
        "meetings": {},
        "statements": {},
        "demands": {},
        "proposals": {},
        "agreements": {},
        "milestones": {},
        "context": {},
        "corrections": [],
        "retracted": [],
    }


def _derive(v: View, event_id: str, rec: Record) -> None:
    kind, p = rec["type"], rec["payload"]
    v["status"] = next_status(v["status"], kind, p)
    reduce = REDUCERS.get(kind)
    if reduce is not None:
        reduce(v, p, _origin(event_id, rec))


def _origin(event_id: str, rec: Record) -> Origin:
    origin: Origin = {
        "event_id": event_id,
        "occurred_at": rec["occurred_at"],
        "occurred_until": rec["occurred_until"],
        "verification": rec["verification"],
        "corrected": bool(rec["corrected_by"]),
    }
    grades = source_grades(rec["sources"])
    if grades:  # only when graded, so that events recorded before grades read as they did
        origin["grades"] = grades
    return origin


def touches(wire: Mapping[str, Any]) -> list[Touch] | None:
    """The view entries (section, key) an event changes besides the headline fields; None
    when it may change any of them (corrections and retractions re-derive the view). Declared
    beside each type's reducer (projections/kinds.py), so storage can write only what
    changed. ``wire`` is JSON as read (only its type, payload and event_id are used)."""
    if wire["type"] in CORRECTIONS:
        return None
    touch = TOUCHES.get(wire["type"])
    return touch(wire["payload"], wire["event_id"]) if touch else []
