"""Rebuilding a projection without downtime.

A new generation is built from position 0 while the live one keeps serving; when it has caught
up, one script switches readers to it (only if its tracked position is at least the live one),
the live workers follow on their next batch (their compare-and-set fails and they re-read the
generation), and the old generation's keys are dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

from projections.live.apply import Applier
from projections.live.store import ViewStore
from projections.views import Projection

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Rebuilt:
    projection: str
    generation: str
    position: int
    fingerprint: str
    live_fingerprint: str | None  # the replaced view's, when both stood at the same position
    dropped_keys: int


def rebuild(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    progress: Progress = lambda _: None,
    attempts: int = 3,
) -> Rebuilt:
    generation = uuid.uuid4().hex[:12]
    applier = Applier(
        redis, store, projection, events_stream, attempts=attempts, generation=generation
    )
    total = int(redis.xlen(events_stream))
    progress(f"rebuilding {projection.name} into generation {generation} from {total} entries")
    done = 0
    live_fingerprint: str | None = None
    while True:
        reached = applier.apply_through()
        if reached == done:
            live = store.generation()
            if store.tracked(live) == reached:
                live_fingerprint = store.fingerprint(live)
            switched, old = store.switch(generation)
            if switched:
                break
        elif reached // 10_000 != done // 10_000:
            progress(f"  {projection.name}: applied through position {reached}")
        done = reached
    if store.tracked(old) != done:
        live_fingerprint = None  # the live view moved on between the two readings
    dropped = store.drop(old) if old != generation else 0
    fingerprint = store.fingerprint(generation)
    progress(f"switched {projection.name} to generation {generation} at position {done}")
    return Rebuilt(projection.name, generation, done, fingerprint, live_fingerprint, dropped)
