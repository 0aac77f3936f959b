"""Rendered pages kept between requests: one negotiation's sections are rendered once per
state (its id, version and last position), point in time, filters, audit panel and day, and
reused until any of them changes (a recorded event changes the version)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Rendered(Generic[T]):
    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """What was made for ``key``, else ``make()``, kept (shared: read it, do not change
        it)."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        made = make()
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)
        return made
