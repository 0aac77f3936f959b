"""Rendered live views kept between requests: an answer is reused while the negotiation's
headline field in Redis (its version and position, which every applied event changes), the
view's generation and the day (overdue marks) are the same.

Each rendering also remembers the stamp of the served generation (``P:@served``, moved by
every write to it) at which it was last known current: while the stamp has not moved, the
rendering is reused after one read of that one key, without reading the negotiation's head."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

Key = tuple[str, str, str]  # projection, generation, negotiation


class RenderedViews:
    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._views: OrderedDict[Key, tuple[bytes, date, Any]] = OrderedDict()
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
        with self._lock:
            self._views[key] = (head, today, view)
            self._views.move_to_end(key)
            self._stamps.pop(key, None)
            while len(self._views) > self.limit:
                dropped, _ = self._views.popitem(last=False)
                self._stamps.pop(dropped, None)
