"""Rendered live views kept between requests: an answer is reused while the negotiation's
headline field in Redis (its version and position, which every applied event changes), the
view's generation and the day (overdue marks) are the same.

Each rendering also remembers the stamp of the served generation (``P:@served``, moved by
every write to it) at which it was last known current: while the stamp has not moved, the
rendering is reused after one read of that one key, without reading the negotiation's head.

The renderings are bounded by count and by bytes (``footprint``): a negotiation of 1,000
notes renders to about 1.3 MB of Python objects, so a count alone let the API's memory grow
with the length of the negotiations asked about."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

from projections.footprint import footprint

Key = tuple[str, str, str]  # projection, generation, negotiation
LIMIT_BYTES = 64 * 1024 * 1024


class RenderedViews:
    def __init__(self, limit: int = 1024, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit = limit
        self.limit_bytes = limit_bytes
        self.bytes = 0
        self._views: OrderedDict[Key, tuple[bytes, date, Any]] = OrderedDict()
        self._sizes: dict[Key, int] = {}
        self._stamps: dict[Key, int] = {}  # the write stamp at which a rendering was current
        self._lock = threading.Lock()

    def current(self, key: Key, stamp: int, today: date) -> Any | None:
        """The view rendered for this day if nothing was written to its generation since it
        was last known current (``stamp``)."""
        with self._lock:
            hit = self._views.get(key)
            if hit is None or hit[1] != today or self._stamps.get(key) != stamp:
                return None
            self._views.move_to_end(key)
            return hit[2]

    def confirm(self, key: Key, stamp: int) -> None:
        """The rendering under ``key`` is current as of the write stamp ``stamp`` (read before
        the head it was checked against)."""
        with self._lock:
            if key in self._views:
                self._stamps[key] = stamp

    def get(self, key: Key, head: bytes, today: date) -> Any | None:
        """The view rendered for this head and day (shared: read it, do not change it)."""
        with self._lock:
            hit = self._views.get(key)
            if hit is None or hit[0] != head or hit[1] != today:
                return None
            self._views.move_to_end(key)
            return hit[2]

    def put(self, key: Key, head: bytes, today: date, view: Any) -> None:
        size = footprint(view)
        with self._lock:
            self.bytes -= self._sizes.pop(key, 0)
            self._views[key] = (head, today, view)
            self._views.move_to_end(key)
            self._sizes[key] = size
            self.bytes += size
            self._stamps.pop(key, None)
            while len(self._views) > self.limit or self.bytes > self.limit_bytes:
                dropped, _ = self._views.popitem(last=False)
                self.bytes -= self._sizes.pop(dropped)
                self._stamps.pop(dropped, None)
