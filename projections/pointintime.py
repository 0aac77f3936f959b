"""Point-in-time answers: folds of a negotiation's events as of a world time and/or as known at
a record time, with the events and the folds cached in memory bounded by bytes.

Each negotiation's events are loaded once and then extended with only what is new (``load``
gets the version to read after); folds are cached by (negotiation, last position, as_of,
known_at), so a repeated question costs a dictionary look-up and a new event invalidates by
changing the last position. Both live in one least-recently-used cache whose entries are
weighed in bytes (``footprint``): past ``limit_bytes`` the least recently asked are dropped, so
the memory follows the negotiations being asked about, not every one ever asked. An entry
heavier than the whole limit is answered from and not kept. ``load`` does the I/O; this module
does none.
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
from projections.footprint import footprint
from projections.negotiation import State, fold

# JSON boundary: events as the store returns them (read as recorded, not validated again).
Loader = Callable[[str, int], list[dict[str, Any]]]
DEFAULT_LIMIT_BYTES = 64 * 1024 * 1024


@dataclass
class _Events:
    wires: list[dict[str, Any]] = field(default_factory=list)
    starts: list[datetime | None] = field(default_factory=list)  # None: a correction
    recorded: list[datetime] = field(default_factory=list)
    size: int = 0


@dataclass(frozen=True)
class CacheStats:
    """The cache's counters since the service started, and what it holds now."""

    hits: int
    misses: int
    evictions: int
    bytes: int
    limit_bytes: int


_Key = tuple[str, ...]


class PointInTime:
    def __init__(self, load: Loader, *, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self._load = load
        self._limit = limit_bytes
        self._entries: OrderedDict[_Key, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0
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
            key = ("fold", negotiation_id, str(last), str(as_of or ""), str(known_at or ""))
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                state: State = cached[0]
                return state
            self._misses += 1
            with collector_paused():  # the one pause the projection workers count too
                state = fold(None, _visible(events, as_of, known_at))
            self._keep(key, state, footprint(state))
            return state

    def opening(self, negotiation_id: str) -> dict[str, Any]:
        """The negotiation's first event (its NegotiationOpened), as stored."""
        with self._lock:
            return self._refresh(negotiation_id).wires[0]

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, self._bytes, self._limit)

    def _refresh(self, negotiation_id: str) -> _Events:
        key = ("events", negotiation_id)
        cached = self._entries.pop(key, None)
        events: _Events = cached[0] if cached is not None else _Events()
        if cached is not None:
            self._bytes -= cached[1]
        new = self._load(negotiation_id, len(events.wires))  # raises for an unknown id
        for wire in new:
            events.wires.append(wire)
            start = None
            if wire["type"] not in CORRECTIONS:
                start = PartialDate.parse(wire["occurred_at"]).start
            events.starts.append(start)
            events.recorded.append(
                datetime.fromisoformat(wire["recorded_at"].replace("Z", "+00:00"))
            )
            events.size += footprint(wire) + _PER_EVENT
        self._keep(key, events, events.size)
        return events

    def _keep(self, key: _Key, value: Any, size: int) -> None:
        """Keeps the entry as the most recent, then drops the least recent ones (this one last)
        until the cache is back within its limit."""
        self._entries[key] = (value, size)
        self._bytes += size
        while self._bytes > self._limit and self._entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped
            self._evictions += 1


# The two instants kept beside each wire, and the list slots that hold the three.
_PER_EVENT = 2 * 48 + 3 * 8


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
