"""Rendered live views kept between requests: an answer is reused while the negotiation's
headline field in Redis (its version and position, which every applied event changes), the
view's generation and the day (overdue marks) are the same."""

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
        self._lock = threading.Lock()

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
            while len(self._views) > self.limit:
                self._views.popitem(last=False)
