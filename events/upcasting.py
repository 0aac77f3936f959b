"""Schema versions and upcasters.

Each event type has a current ``schema_version`` (``Envelope.SCHEMA_VERSION``). An event
published or stored at an older version is brought up to date by upcasters registered for
``(type, from_version)``; each returns the event one version newer. Stored bytes are never
rewritten: hashes are always checked against the bytes as stored, and upcasting happens on read.

To change a type's schema: bump its ``SCHEMA_VERSION``, register an upcaster from the previous
version, and add a test with an event at the old version (see tests/unit/events).

Versions so far: ContextNoted 1 -> 2 made ``quantity`` an object. Version 2 of every type (3 of
ContextNoted) graded sources (Admiralty ``reliability``/``credibility``, ``archived_url``,
``content_sha256``) and added the coded fields of docs/coding.md, all optional, so most
upcasters only bump the version; meetings turn ``location`` into ``place`` (and so does a
correction's patch). MilestoneProgressed was born at version 1. tests/unit/events/
test_v1_upcasting.py and tests/unit/projections/test_v1_folds.py hold version 1 to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.exceptions import UnknownSchemaVersion
from events.types import EVENT_TYPES

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast(event: dict[str, Any]) -> dict[str, Any]:
    """Returns ``event`` at its type's current schema version (unknown types pass through)."""
    cls = EVENT_TYPES.get(event.get("type", ""))
    version = event.get("schema_version")
    if cls is None or version is None or not isinstance(version, int):
        return event
    while version < cls.SCHEMA_VERSION:
        step = UPCASTERS.get((cls.__name__, version))
        if step is None:
            raise UnknownSchemaVersion(
                "unknown_schema_version",
                f"no upcaster from version {version} of {cls.__name__}",
                field="schema_version",
            )
        event = step(dict(event))
        version = event["schema_version"]
    return event


@upcaster("ContextNoted", 1)
def _context_quantity_as_object(event: dict[str, Any]) -> dict[str, Any]:
    """Version 1 carried ``quantity`` as a bare number; version 2 as ``{value, unit?,
    approximate}``."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return {**event, "schema_version": 2}  # validation refuses it, naming the field
    payload = dict(payload)
    if isinstance(payload.get("quantity"), int | float):
        payload["quantity"] = {"value": payload["quantity"], "approximate": False}
    return {**event, "payload": payload, "schema_version": 2}


def _bumped(event: dict[str, Any], payload: Any, version: int) -> dict[str, Any]:
    return {**event, "payload": payload, "schema_version": version}


def _graded_sources(event: dict[str, Any]) -> dict[str, Any]:
    """Version 1 to 2 of a type whose payload did not change: sources may now carry their
    Admiralty grade and the publisher's copy, all optional, so a version 1 event is already a
    valid version 2 one."""
    return {**event, "schema_version": event["schema_version"] + 1}


def _location_as_place(event: dict[str, Any]) -> dict[str, Any]:
    """Meetings at version 1 carried ``location`` as free text; version 2 a ``place`` object:
    the text becomes ``{name: location}`` (its precision stays the default, 1)."""
    payload = event.get("payload")
    if not isinstance(payload, dict) or "location" not in payload:
        return _graded_sources(event)
    payload = dict(payload)
    location = payload.pop("location")
    if "place" not in payload:  # both given: validation refuses ``location`` by name
        payload["place"] = None if location is None else {"name": location}
    else:
        payload["location"] = location
    return _bumped(event, payload, 2)


def _patch_location_as_place(event: dict[str, Any]) -> dict[str, Any]:
    """A version 1 correction may patch a meeting's ``location`` (only meetings had one):
    it patches ``place`` instead, as the meeting itself is upcast."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        return _graded_sources(event)
    patch = payload.get("patch")
    if not isinstance(patch, dict) or "location" not in patch or "place" in patch:
        return _graded_sources(event)
    patch = dict(patch)
    location = patch.pop("location")
    patch["place"] = None if location is None else {"name": location}
    return _bumped(event, {**payload, "patch": patch}, 2)


_SPECIAL: dict[str, Upcaster] = {
    "MeetingScheduled": _location_as_place,
    "MeetingHeld": _location_as_place,
    "MeetingCancelled": _location_as_place,
    "EventCorrected": _patch_location_as_place,
}
for _name, _cls in EVENT_TYPES.items():
    if _name == "ContextNoted":
        UPCASTERS[(_name, 2)] = _graded_sources  # version 3: graded sources, optional place
    elif _cls.SCHEMA_VERSION == 2:
        UPCASTERS[(_name, 1)] = _SPECIAL.get(_name, _graded_sources)
