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

from projections.collector import collector_paused
from projections.live.apply import Applier, Entry, EntryReader, kept
from projections.live.store import ViewStore, fingerprint_of
from projections.negotiation import State, empty
from projections.views import Projection
from services.wire.entries import position_of, recorded_event

BULK_PAGE = 5000

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Rebuilt:
    projection: str
    generation: str
    position: int
    fingerprint: str
    live_fingerprint: str | None  # the replaced view's, when both stood at the same position
    dropped_keys: int


class _ReducerFailed(Exception):
    """A reducer raised while a page was folded (the cause is chained). A private signal, not
    an error of talkstream: it never leaves this module (``bulk_fold`` falls back to applying
    batch by batch, which parks the negotiation)."""


def bulk_fold(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    generation: str,
    progress: Progress,
) -> tuple[int, str | None]:
    """Folds the whole stream in memory and writes each state once (the fast path); returns
    the position written and the states' fingerprint. A reducer failure leaves everything to
    the per-batch path, which parks (returns 0 and None, having written nothing)."""
    states: dict[str, State] = {}
    last = 0
    reader = EntryReader(redis, events_stream)
    while True:
        try:
            with collector_paused():
                entries = reader.after(last, count=BULK_PAGE)
                _fold_page(projection, states, entries)
        except _ReducerFailed as e:
            progress(f"  {projection.name}: a reducer failed ({e}); applying batch by batch")
            return 0, None
        if not entries:
            break
        last = position_of(entries[-1][0])
        if last // 100_000 != (last - len(entries)) // 100_000:
            progress(f"  {projection.name}: folded through position {last}")
    store.write_all(generation, states, last)
    return last, fingerprint_of(states)


def _fold_page(projection: Projection, states: dict[str, State], entries: list[Entry]) -> None:
    for entry_id, fields in entries:
        if kept(projection, fields):
            wire = recorded_event(entry_id, fields)
            state = states.get(wire["negotiation_id"])
            if state is None:
                state = states[wire["negotiation_id"]] = empty()
            try:
                projection.apply_into(state, [wire])
            except Exception as e:
                raise _ReducerFailed(e) from e


def rebuild(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    progress: Progress = lambda _: None,
    replace: bool = False,
) -> Rebuilt:
    """Builds a new generation from the stream and switches readers to it. ``replace``: the
    stream was rebuilt (relay --rebuild-stream), so the live generation's position belongs to
    another history and the new one is served even if it stands behind it."""
    generation = uuid.uuid4().hex[:12]
    applier = Applier(redis, store, projection, events_stream, generation=generation)
    total = int(redis.xlen(events_stream))
    progress(f"rebuilding {projection.name} into generation {generation} from {total} entries")
    done, bulk_fingerprint = bulk_fold(
        redis, store, projection, events_stream, generation=generation, progress=progress
    )
    bulk_position = done
    live_fingerprint: str | None = None
    while True:
        reached = applier.apply_through()
        if reached == done:
            live = store.generation()
            if store.tracked(live) == reached:
                live_fingerprint = store.fingerprint(live)
            switched, old = store.switch(generation, replace=replace)
            if switched:
                break
        elif reached // 10_000 != done // 10_000:
            progress(f"  {projection.name}: applied through position {reached}")
        done = reached
    if store.tracked(old) != done:
        live_fingerprint = None  # the live view moved on between the two readings
    dropped = store.drop(old) if old != generation else 0
    fingerprint = bulk_fingerprint if done == bulk_position and bulk_fingerprint else None
    fingerprint = fingerprint or store.fingerprint(generation)
    progress(f"switched {projection.name} to generation {generation} at position {done}")
    return Rebuilt(projection.name, generation, done, fingerprint, live_fingerprint, dropped)
