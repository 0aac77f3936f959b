"""Rendered live views kept between requests: an answer is reused while the negotiation's
headline field in Redis (its version and position, which every applied event changes), the
view's generation and the day (overdue marks) are the same.

Each rendering also remembers the stamp of the served generation (``P:@served``, moved by
every write to it) at which it was last known current: while the stamp has not moved, the
rendering is reused after one read of that one key, without reading the negotiation's head.

A rendering is kept as its JSON only (the answer's ``view`` field as the route encodes it),
made once: a read answered from it ahead of the framework encodes nothing but its envelope
(``services.api.cached``), the route parses it back, and the cache holds no Python objects
for the cyclic garbage collector to walk (a large view is tens of thousands of them).

The renderings are bounded by count and by bytes: a negotiation of 1,000 notes renders to
hundreds of kilobytes, so a count alone let the API's memory grow with the length of the
negotiations asked about."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

import orjson
from pydantic import TypeAdapter

Key = tuple[str, str, str]  # projection, generation, negotiation
LIMIT_BYTES = 64 * 1024 * 1024


VIEW: TypeAdapter[Any] = TypeAdapter(Any)


def view_json(view: Any) -> bytes:
    """A view's JSON as the answer's ``view`` field holds it (pydantic's encoding of ``Any``,
    as FastAPI encodes the route's answer)."""
    return VIEW.dump_json(view)


class Rendering:
    """One negotiation's rendered view, as JSON, for one head and day."""

    __slots__ = ("day", "encoded", "head")

    def __init__(self, head: bytes, day: date, encoded: bytes) -> None:
        self.head = head
        self.day = day
        self.encoded = encoded


class RenderedViews:
    def __init__(self, limit: int = 1024, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit = limit
        self.limit_bytes = limit_bytes
        self.bytes = 0
        self._views: OrderedDict[Key, Rendering] = OrderedDict()
        self._stamps: dict[Key, int] = {}  # the write stamp at which a rendering was current
        self._lock = threading.Lock()

    def current(self, key: Key, stamp: int, today: date) -> Any | None:
        """The view rendered for this day if nothing was written to its generation since it
        was last known current (``stamp``)."""
        hit = self.current_rendering(key, stamp, today)
        return None if hit is None else orjson.loads(hit.encoded)

    def current_rendering(self, key: Key, stamp: int, today: date) -> Rendering | None:
        """``current``'s rendering, as JSON."""
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
        """The view rendered for this head and day."""
        with self._lock:
            hit = self._views.get(key)
            if hit is None or hit.head != head or hit.day != today:
                return None
            self._views.move_to_end(key)
            encoded = hit.encoded
        return orjson.loads(encoded)

    def put(self, key: Key, head: bytes, today: date, view: Any) -> None:
        rendering = Rendering(head, today, view_json(view))
        size = len(rendering.encoded)
        with self._lock:
            self.bytes -= len(self._views[key].encoded) if key in self._views else 0
            self._views[key] = rendering
            self._views.move_to_end(key)
            self.bytes += size
            self._stamps.pop(key, None)
            while len(self._views) > self.limit or self.bytes > self.limit_bytes:
                dropped, gone = self._views.popitem(last=False)
                self.bytes -= len(gone.encoded)
                self._stamps.pop(dropped, None)
