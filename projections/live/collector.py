"""Pausing Python's cyclic garbage collector while a batch is decoded and folded.

Folding makes no reference cycles (states are trees of dicts and lists, and what a batch
discards is freed by reference counting), but it allocates many objects that join a large,
growing heap of cached states, which the collector would otherwise scan in full again and again
during a catch-up or a rebuild. Pausing it for one batch at a time lets it run between batches
instead, far less often. Pauses from several threads overlap: the collector resumes when the
last one ends, and only if it was running when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False

    def begin(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.resume = gc.isenabled()
                gc.disable()
            self.depth += 1

    def end(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.resume:
                gc.enable()


_PAUSES = _Pauses()


@contextmanager
def collector_paused() -> Iterator[None]:
    _PAUSES.begin()
    try:
        yield
    finally:
        _PAUSES.end()
