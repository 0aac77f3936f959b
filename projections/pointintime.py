"""Point-in-time answers: folds of a negotiation's events as of a world time and/or as known at
a record time, with the events and the folds cached in memory.

Each negotiation's events are loaded once and then extended with only what is new (``load``
gets the version to read after); folds are cached by (negotiation, last position, as_of,
known_at), so a repeated question costs a dictionary look-up and a new event invalidates by
changing the last position. ``load`` does the I/O; this module does none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events import CORRECTIONS, PartialDate
from projections.collector import collector_paused
from projections.negotiation import State, fold

# JSON boundary: events as the store returns them (read as recorded, not validated again).
Loader = Callable[[str, int], list[dict[str, Any]]]


@dataclass
class _Events:
    wires: list[dict[str, Any]] = field(default_factory=list)
    starts: list[datetime | None] = field(default_factory=list)  # None: a correction
    recorded: list[datetime] = field(default_factory=list)


class PointInTime:
    def __init__(self, load: Loader, *, cached_folds: int = 256) -> None:
        self._load = load
        self._events: dict[str, _Events] = {}
        self._folds: OrderedDict[tuple[str, int, str, str], State] = OrderedDict()
        self._limit = cached_folds
        self._lock = threading.Lock()

    def state(
        self,
        negotiation_id: str,
        *,
        as_of: PartialDate | None = None,
        known_at: PartialDate | None = None,
    ) -> State:
        """The folded state (shared with the cache: read it, do not change it)."""
        with self._lock:
            events = self._refresh(negotiation_id)
            last = events.wires[-1]["position"] if events.wires else 0
            key = (negotiation_id, last, str(as_of or ""), str(known_at or ""))
            if key in self._folds:
                self._folds.move_to_end(key)
                return self._folds[key]
            with collector_paused():  # the one pause the projection workers count too
                state = fold(None, _visible(events, as_of, known_at))
            self._folds[key] = state
            while len(self._folds) > self._limit:
                self._folds.popitem(last=False)
            return state

    def opening(self, negotiation_id: str) -> dict[str, Any]:
        """The negotiation's first event (its NegotiationOpened), as stored."""
        with self._lock:
            return self._refresh(negotiation_id).wires[0]

    def _refresh(self, negotiation_id: str) -> _Events:
        events = self._events.get(negotiation_id) or _Events()
        new = self._load(negotiation_id, len(events.wires))  # raises for an unknown id
        self._events[negotiation_id] = events
        for wire in new:
            events.wires.append(wire)
            start = None
            if wire["type"] not in CORRECTIONS:
                start = PartialDate.parse(wire["occurred_at"]).start
            events.starts.append(start)
            events.recorded.append(
                datetime.fromisoformat(wire["recorded_at"].replace("Z", "+00:00"))
            )
        return events


def _visible(
    events: _Events, as_of: PartialDate | None, known_at: PartialDate | None
) -> list[dict[str, Any]]:
    """The rule of projections/asof.py, on precomputed instants."""
    keep = []
    for wire, start, recorded in zip(events.wires, events.starts, events.recorded, strict=True):
        if known_at is not None and not known_at.reaches(recorded):
            continue
        if start is not None and as_of is not None and not as_of.reaches(start):
            continue
        keep.append(wire)
    return keep
