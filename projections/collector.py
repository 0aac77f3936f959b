"""Pausing Python's cyclic garbage collector while events are folded.

Folding makes no reference cycles (states are trees of dicts and lists, and what a fold
discards is freed by reference counting), but it allocates many objects that join a large,
growing heap of cached states, which the collector would otherwise scan in full again and again
during a catch-up, a rebuild or a point-in-time fold. Pausing it for one batch or fold at a
time lets it run between them instead, far less often.

This is the one pause in the process: the projection workers (projections/live) and the
point-in-time service pause through it, from several threads at once. Pauses are counted: the
collector resumes when the last one ends, and only if it was running when the first began, so
one fold ending never resumes it in the middle of another thread's batch.
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
