"""Rebuilding a projection without downtime.

A new generation is built from position 0 while the live one keeps serving; when it has caught
up, one script switches readers to it (only if its tracked position is at least the live one),
the live workers follow on their next batch (their compare-and-set fails and they re-read the
generation), and the old generation's keys are dropped.

The fold holds at most about ``PASS_EVENTS`` events' worth of states: a longer stream is
folded in passes, each over the negotiations of one shard (their ids' CRC-32 modulo the number
of passes), whose states are written and let go before the next pass reads the stream again.
Memory then follows ``PASS_EVENTS`` (and the longest negotiation), not the stream's length.
"""

from __future__ import annotations

import math
import uuid
import zlib
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
PASS_EVENTS = 40_000
"""Stream entries folded per pass at most (see the module's docstring)."""

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Rebuilt:
    projection: str
    generation: str
    position: int
    fingerprint: str
    live_fingerprint: str | None  # the replaced view's, when both stood at the same position
    dropped_keys: int
    passes: int = 1  # passes of the bulk fold over the stream (more than one: memory bounded)


class _ReducerFailed(Exception):
    """A reducer raised while a page was folded (the cause is chained). A private signal, not
    an error of talkstream: it never leaves this module (``bulk_fold`` falls back to applying
    batch by batch, which parks the negotiation)."""


def passes_for(entries: int) -> int:
    """How many passes fold a stream of ``entries`` within ``PASS_EVENTS`` each."""
    return max(1, math.ceil(entries / PASS_EVENTS))


def bulk_fold(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    generation: str,
    progress: Progress,
    passes: int = 1,
) -> tuple[int, str | None]:
    """Folds the stream in memory, in ``passes`` passes of one shard of negotiations each, and
    writes each state once (the fast path); returns the position written and, for one pass,
    the states' fingerprint. A reducer failure leaves everything to the per-batch path, which
    parks (returns 0 and None, having written nothing that will be served)."""
    reached = 0
    fingerprint = None
    for shard in range(passes):
        states: dict[str, State] = {}
        stop = reached if shard else None
        try:
            last = _fold_shard(
                EntryReader(redis, events_stream),
                projection,
                states,
                shard=(shard, passes),
                stop=stop,
                progress=progress,
            )
        except _ReducerFailed as e:
            progress(f"  {projection.name}: a reducer failed ({e}); applying batch by batch")
            store.drop(generation)
            return 0, None
        if shard == 0:
            reached = last
        store.write_all(generation, states, reached)
        fingerprint = fingerprint_of(states) if passes == 1 else None
        if passes > 1:
            progress(f"  {projection.name}: pass {shard + 1} of {passes} written")
    return reached, fingerprint


def _fold_shard(
    reader: EntryReader,
    projection: Projection,
    states: dict[str, State],
    *,
    shard: tuple[int, int],
    stop: int | None,
    progress: Progress,
) -> int:
    """Folds the stream's entries of one shard's negotiations (``shard``: its number and the
    number of shards) into ``states``, up to the end of the stream or through ``stop`` (the
    position the first pass reached: every pass folds the same entries)."""
    last = 0
    while stop is None or last < stop:
        with collector_paused():
            entries = reader.after(last, count=BULK_PAGE)
            if stop is not None:
                entries = [e for e in entries if position_of(e[0]) <= stop]
            _fold_page(projection, states, entries, *shard)
        if not entries:
            return last
        last = position_of(entries[-1][0])
        if last // 100_000 != (last - len(entries)) // 100_000:
            progress(f"  {projection.name}: folded through position {last}")
    return last


def _fold_page(
    projection: Projection,
    states: dict[str, State],
    entries: list[Entry],
    shard: int = 0,
    passes: int = 1,
) -> None:
    for entry_id, fields in entries:
        if kept(projection, fields) and _in_shard(fields, shard, passes):
            wire = recorded_event(entry_id, fields)
            state = states.get(wire["negotiation_id"])
            if state is None:
                state = states[wire["negotiation_id"]] = empty()
            try:
                projection.apply_into(state, [wire])
            except Exception as e:
                raise _ReducerFailed(e) from e


def _in_shard(fields: dict[bytes, bytes], shard: int, passes: int) -> bool:
    return passes == 1 or zlib.crc32(fields[b"negotiation_id"]) % passes == shard


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
    passes = passes_for(total)
    progress(f"rebuilding {projection.name} into generation {generation} from {total} entries")
    done, bulk_fingerprint = bulk_fold(
        redis,
        store,
        projection,
        events_stream,
        generation=generation,
        progress=progress,
        passes=passes,
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
    return Rebuilt(
        projection.name, generation, done, fingerprint, live_fingerprint, dropped, passes
    )
