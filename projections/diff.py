"""What changed in a negotiation's view between two points in time, and which events did it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from projections.negotiation import SECTIONS

HEADLINE = ("title", "status", "format", "framework_ref")


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Added, changed and removed entries of every section (and headline fields), each with
    the ids of the events that caused it, in section order."""
    changes: list[dict[str, Any]] = [
        {
            "section": "negotiation",
            "id": name,
            "change": "changed",
            "before": before.get(name),
            "after": after.get(name),
            "events": [],
        }
        for name in HEADLINE
        if before.get(name) != after.get(name)
    ]
    known = {c["event_id"] for c in before.get("corrections", [])}
    corrections = {
        c["target_event_id"]: c["event_id"]
        for c in after.get("corrections", [])
        if c["event_id"] not in known
    }
    for section in SECTIONS:
        changes.extend(
            _section(section, before.get(section, {}), after.get(section, {}), corrections)
        )
    return changes


def _section(
    section: str, old: dict[str, Any], new: dict[str, Any], corrections: dict[str, str]
) -> Iterator[dict[str, Any]]:
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        kind = "added" if a is None else "removed" if b is None else "changed"
        caused = _event_ids(b) - _event_ids(a)
        touched = _event_ids(a) | _event_ids(b)
        caused |= {c for target, c in corrections.items() if target in touched}
        yield {
            "section": section,
            "id": key,
            "change": kind,
            "before": a,
            "after": b,
            "events": sorted(caused),
        }


def _event_ids(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "event_id" and isinstance(v, str):
                found.add(v)
            else:
                found |= _event_ids(v)
    elif isinstance(value, list):
        for item in value:
            found |= _event_ids(item)
    return found
