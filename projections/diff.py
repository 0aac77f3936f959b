"""What changed in a negotiation's view between two points in time, and which events did it.

Causes come from the window: the events that count at exactly one of the two points (so a
diff backwards in time names what had not happened yet). A view entry changed because a window
event touches it (``touches``, the map the live views also use), or because a window
correction or retraction targets an event that touches it. The status is derived, so it names
the window events that moved it in either fold, or a window correction or retraction of one
that did. A correction whose target is itself in the window adds nothing: the target names the
change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Literal, TypedDict

from events import CORRECTIONS
from events.lifecycle import next_status
from projections.negotiation import SECTIONS, State, touches
from projections.shapes import Record, Registry, Section
from projections.views import negotiation_view

Headline = Literal["title", "status", "format", "framework_ref"]
HEADLINE: tuple[Headline, ...] = ("title", "status", "format", "framework_ref")
OPENING_FIELDS = ("title", "format", "framework_ref")
Entry = tuple[str, str]  # (section, key), or ("negotiation", headline field)


class Change(TypedDict):
    section: Section | Literal["negotiation"]
    id: str
    change: Literal["added", "changed", "removed"]
    before: object  # a headline value or a view entry, as the view holds it
    after: object
    events: list[str]


def diff(before: State, after: State, *, today: date) -> list[Change]:
    """Added, changed and removed entries of every section (and headline fields) of the
    ``negotiation`` view, each with the ids of the events that caused it, in section order."""
    old, new = negotiation_view(before, today), negotiation_view(after, today)
    causes = _causes(before["registry"], after["registry"])
    changes: list[Change] = [
        {
            "section": "negotiation",
            "id": name,
            "change": "changed",
            "before": old.get(name),
            "after": new.get(name),
            "events": sorted(causes["negotiation", name]),
        }
        for name in HEADLINE
        if old.get(name) != new.get(name)
    ]
    for section in SECTIONS:
        changes.extend(_section(section, old.get(section, {}), new.get(section, {}), causes))
    return changes


def _section(
    section: Section,
    old: Mapping[str, object],
    new: Mapping[str, object],
    causes: dict[Entry, set[str]],
) -> Iterator[Change]:
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        yield {
            "section": section,
            "id": key,
            "change": "added" if a is None else "removed" if b is None else "changed",
            "before": a,
            "after": b,
            "events": sorted(causes[section, key]),
        }


def _causes(before: Registry, after: Registry) -> dict[Entry, set[str]]:
    """For each view entry (section, key), and ("negotiation", headline field), the window
    events that caused its change."""
    window = {i: r for i, r in before.items() if i not in after}
    window.update((i, r) for i, r in after.items() if i not in before)
    found: dict[Entry, set[str]] = defaultdict(set)
    setters = _status_setters(before) | _status_setters(after)
    for event_id, rec in window.items():
        if rec["type"] not in CORRECTIONS:
            for entry in _entries(event_id, rec):
                found[entry].add(event_id)
            if event_id in setters:
                found["negotiation", "status"].add(event_id)
            continue
        target = rec["payload"]["target_event_id"]
        if target in window:
            continue
        for registry in (before, after):
            if target in registry:
                for entry in _entries(target, registry[target]):
                    found[entry].add(event_id)
        if target in setters:
            found["negotiation", "status"].add(event_id)
    return found


def _entries(event_id: str, rec: Record) -> list[Entry]:
    """The view entries an event's effective payload touches, headline fields included."""
    wire = {"type": rec["type"], "payload": rec["payload"], "event_id": event_id}
    entries: list[Entry] = list(touches(wire) or [])
    if rec["type"] == "NegotiationOpened":
        entries += [("negotiation", name) for name in OPENING_FIELDS]
    return entries


def _status_setters(registry: Registry) -> set[str]:
    """The effective events at which the fold's status changed (as the reducer derives it:
    in registry order, corrections applied, retracted events left out)."""
    status: str | None = None
    setters = set()
    for event_id, rec in registry.items():
        if rec["type"] in CORRECTIONS or rec["retracted_by"] is not None:
            continue
        moved = next_status(status, rec["type"], rec["payload"])
        if moved != status:
            setters.add(event_id)
        status = moved
    return setters
