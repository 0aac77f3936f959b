"""Rebuilding a projection without downtime.

A new generation is built from position 0 while the live one keeps serving; when it has caught
up, one script switches readers to it (only if its tracked position is at least the live one),
the live workers follow on their next batch (their compare-and-set fails and they re-read the
generation), and the old generation's keys are dropped.

The bulk fold runs through the stream's last position at its start, split into shards of
negotiations (``projections/live/shards.py``) over ``workers`` processes where the stream is
long enough to pay for them: each worker folds its shards one after another (a pass each),
writes their states and returns their digests. The fold holds at most about ``PASS_EVENTS``
events' worth of states per process: a longer stream is cut into more shards (more passes), so
memory follows ``PASS_EVENTS`` (and the longest negotiation), not the stream's length. A worker
reads the stream once whatever its passes: the entries of its later shards wait in temporary
files (``shards.py``), so the cost per event does not grow with the stream either. What was
written after that last position is then applied batch by batch, as the live workers do.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass

from redis import Redis

from projections.live.apply import Applier
from projections.live.shards import (
    Connecting,
    Rate,
    ShardJob,
    ShardsFolded,
    adopt_counters,
    fold_in_worker,
    fold_shards,
)
from projections.live.store import ViewStore, fingerprint_from
from projections.views import Projection
from services.wire.connect import is_cluster
from services.wire.entries import position_of

PASS_EVENTS = 40_000
"""Stream entries folded per pass at most (see the module's docstring)."""
MAX_WORKERS = 8
"""Worker processes at most when none are asked for (one per CPU below that)."""
PARALLEL_FROM = 20_000
"""Stream entries below which one process folds (starting workers costs more than it saves)."""

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Rebuilt:
    projection: str
    generation: str
    position: int
    fingerprint: str
    live_fingerprint: str | None  # the replaced view's, when both stood at the same position
    dropped_keys: int
    passes: int = 1  # shards each worker folds in turn (more than one: memory bounded)
    workers: int = 1  # processes that folded (1: the rebuilding process itself)


def passes_for(entries: int, workers: int = 1) -> int:
    """How many passes each of ``workers`` makes to fold a stream of ``entries`` within
    ``PASS_EVENTS`` per pass."""
    return max(1, math.ceil(entries / PASS_EVENTS / workers))


def workers_for(entries: int, asked: int | None = None) -> int:
    """The processes that fold: ``asked`` if given, else one per CPU (at most
    ``MAX_WORKERS``) for a stream of at least ``PARALLEL_FROM`` entries, else one."""
    if asked is not None:
        return max(1, asked)
    if entries < PARALLEL_FROM:
        return 1
    return max(1, min(usable_cpus(), MAX_WORKERS))


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system says; else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class _Folded:
    reached: int  # 0: a reducer failed, nothing written will be served
    fingerprint: str | None
    passes: int


def bulk_fold(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    generation: str,
    through: int,
    workers: int,
    progress: Progress,
) -> _Folded:
    """Folds the stream through position ``through`` in shards over ``workers`` processes
    and writes each state once (the fast path). A reducer failure leaves everything to the
    per-batch path, which parks (``reached`` 0, having written nothing that will be served)."""
    passes = passes_for(through, workers)
    shards = workers * passes
    jobs = [
        ShardJob(
            store.prefix,
            projection,
            events_stream,
            generation,
            through,
            tuple(range(w, shards, workers)),
            shards,
            store.partition,
        )
        for w in range(workers)
    ]
    rate = Rate(projection.name, through, progress)
    if workers > 1:
        results = _in_processes(jobs, rate, Connecting.like(redis))
    else:
        results = [_here(jobs[0], rate, redis)]
    failed = [r.reducer_failed for r in results if r.reducer_failed is not None]
    if failed:
        progress(f"  {projection.name}: a reducer failed ({failed[0]}); applying batch by batch")
        store.drop(generation)
        return _Folded(0, None, passes)
    store.set_tracked(generation, through)
    digests = {nid: d for r in results for nid, d in r.digests.items()}
    return _Folded(through, fingerprint_from(digests), passes)


def _here(job: ShardJob, rate: Rate, redis: Redis) -> ShardsFolded:
    done = 0

    def count(entries: int) -> None:
        nonlocal done
        done += entries
        rate.report(done)

    folded = fold_shards(job, count, redis)
    rate.report(done, last=True)
    return folded


def _in_processes(jobs: list[ShardJob], rate: Rate, connecting: Connecting) -> list[ShardsFolded]:
    """Runs each job in a process of its own, reporting the entries folded once a second.
    The workers are forked (in milliseconds) from a process that runs no other thread, and
    spawned otherwise (seconds: a fork would copy other threads' locks mid-way)."""
    context = multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")
    counters = context.RawArray("q", len(jobs))
    with ProcessPoolExecutor(
        len(jobs), mp_context=context, initializer=adopt_counters, initargs=(counters,)
    ) as pool:
        futures = [pool.submit(fold_in_worker, i, job, connecting) for i, job in enumerate(jobs)]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=1.0)
            rate.report(sum(counters), last=not pending)
        return [f.result() for f in futures]


def _last_position(redis: Redis, stream: str) -> int:
    last = redis.xrevrange(stream, count=1)
    return position_of(last[0][0]) if last else 0


def rebuild(
    redis: Redis,
    store: ViewStore,
    projection: Projection,
    events_stream: str,
    *,
    progress: Progress = lambda _: None,
    replace: bool = False,
    workers: int | None = None,
) -> Rebuilt:
    """Builds a new generation from the stream and switches readers to it. ``replace``: the
    stream was rebuilt (relay --rebuild-stream), so the live generation's position belongs to
    another history and the new one is served even if it stands behind it. ``workers``: the
    processes that fold (``workers_for``)."""
    generation = uuid.uuid4().hex[:12]
    applier = Applier(redis, store, projection, events_stream, generation=generation)
    through = _last_position(redis, events_stream)
    # a cluster client cannot be rebuilt in another process from its pool's arguments
    workers = 1 if is_cluster(redis) else workers_for(through, workers)
    progress(
        f"rebuilding {projection.name} into generation {generation} from {through} entries "
        f"({workers} worker{'s' if workers > 1 else ''})"
    )
    folded = bulk_fold(
        redis,
        store,
        projection,
        events_stream,
        generation=generation,
        through=through,
        workers=workers,
        progress=progress,
    )
    done, bulk_fingerprint = folded.reached, folded.fingerprint
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
        projection.name,
        generation,
        done,
        fingerprint,
        live_fingerprint,
        dropped,
        folded.passes,
        workers,
    )
