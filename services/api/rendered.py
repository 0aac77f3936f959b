"""Rendered live views kept between requests: an answer is reused while the negotiation's
headline field in Redis (its version and position, which every applied event changes), the
view's generation and the day (overdue marks) are the same.

Each rendering also remembers the stamp of the served generation (``P:@served``, moved by
every write to it) at which it was last known current: while the stamp has not moved, the
rendering is reused after one read of that one key, without reading the negotiation's head.
A rendering keeps its JSON too, made on first use (``Rendering.encoded``), so a read served
from it encodes nothing but its envelope (``services.api.cached``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

Key = tuple[str, str, str]  # projection, generation, negotiation


class Rendering:
    """One negotiation's rendered view for one head and day (shared: read it, do not change
    it) and, once asked for, its JSON."""

    __slots__ = ("day", "encoded", "head", "view")

    def __init__(self, head: bytes, day: date, view: Any) -> None:
        self.head = head
        self.day = day
        self.view = view
        self.encoded: bytes | None = None

    def json(self, encode: Callable[[Any], bytes]) -> bytes:
        """The view's JSON by ``encode``, made once (two threads racing make the same bytes)."""
        if self.encoded is None:
            self.encoded = encode(self.view)
        return self.encoded


class RenderedViews:
    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._views: OrderedDict[Key, Rendering] = OrderedDict()
        self._stamps: dict[Key, int] = {}  # the write stamp at which a rendering was current
        self._lock = threading.Lock()

    def current(self, key: Key, stamp: int, today: date) -> Any | None:
        """The view rendered for this day if nothing was written to its generation since it
        was last known current (``stamp``)."""
        hit = self.current_rendering(key, stamp, today)
        return None if hit is None else hit.view

    def current_rendering(self, key: Key, stamp: int, today: date) -> Rendering | None:
        """``current``'s rendering, with its JSON once made."""
        with self._lock:
            hit = self._views.get(key)
            if hit is None or hit.day != today or self._stamps.get(key) != stamp:
                return None
            self._views.move_to_end(key)
            return hit

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
            if hit is None or hit.head != head or hit.day != today:
                return None
            self._views.move_to_end(key)
            return hit.view

    def put(self, key: Key, head: bytes, today: date, view: Any) -> None:
        with self._lock:
            self._views[key] = Rendering(head, today, view)
            self._views.move_to_end(key)
            self._stamps.pop(key, None)
            while len(self._views) > self.limit:
                dropped, _ = self._views.popitem(last=False)
                self._stamps.pop(dropped, None)
