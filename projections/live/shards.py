"""Folding a rebuild's shards of negotiations: what one rebuild worker does, in a process of
its own or in the rebuilding one.

A shard is the negotiations whose id's CRC-32 modulo the number of shards is its number. A
worker folds its shards one pass each (a pass holds one shard's states, so memory follows the
shard, not the stream), reading the stream in pages of ``BULK_PAGE`` through the position the
rebuild fixed at its start. Each entry is routed by its raw ``negotiation_id`` field: another
shard's entry costs a CRC, never a decoding. The worker writes each shard's states and returns
the digest of each negotiation's state, from which the rebuild computes the fingerprint (one
digest per negotiation, whatever the number of workers or passes).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import ConnectionPool, Redis

from projections.collector import collector_paused
from projections.live.apply import EntryReader, FlatEntry, kept, pairs
from projections.live.store import ViewStore, state_digests
from projections.negotiation import State, empty
from projections.views import Projection
from services.wire.entries import position_of, recorded_event

BULK_PAGE = 5000
"""Stream entries read per XRANGE by a rebuild worker."""

_PLAIN = (str, bytes, int, float, bool, type(None))

Folded = Callable[[int], object]
"""Told how many more entries of its shards a worker has folded (for progress)."""


@dataclass(frozen=True)
class Connecting:
    """How another process reaches the same Redis: the client's connection class and its
    plain arguments (address, database, credentials, timeouts); a client itself cannot
    cross a process boundary, nor can the pool's helper objects, which a new pool makes
    anew."""

    connection_class: type
    arguments: dict[str, Any]

    @classmethod
    def like(cls, redis: Redis) -> Connecting:
        pool = redis.connection_pool
        plain = {k: v for k, v in pool.connection_kwargs.items() if isinstance(v, _PLAIN)}
        return cls(pool.connection_class, plain)

    def client(self) -> Redis:
        pool = ConnectionPool(connection_class=self.connection_class, **self.arguments)
        return Redis(connection_pool=pool)


@dataclass(frozen=True)
class ShardJob:
    """The shards ``shards`` of ``of`` that one worker folds into ``generation``."""

    prefix: str
    projection: Projection
    stream: str
    generation: str
    through: int
    shards: tuple[int, ...]
    of: int
    partition: int | None = None  # the partition whose views are rebuilt (None: the only one)


@dataclass
class ShardsFolded:
    """What a worker did: each of its negotiations' state digest, or why a reducer failed
    (then nothing it wrote will be served: the rebuild falls back to the per-batch path)."""

    digests: dict[str, str] = field(default_factory=dict)
    reducer_failed: str | None = None


class _ReducerFailed(Exception):
    """A reducer raised while a page was folded (the cause is chained). A private signal, not
    an error of talkstream: ``fold_shards`` turns it into ``ShardsFolded.reducer_failed`` and
    the rebuild falls back to applying batch by batch, which parks the negotiation."""


def fold_shards(job: ShardJob, folded: Folded, redis: Redis) -> ShardsFolded:
    """Folds, writes and digests the job's shards, one pass over the stream each, with the
    cyclic garbage collector paused throughout: the states hold millions of objects and no
    cycles, and a collection traversing them all, started by the allocations of encoding
    them, took as long as the fold itself (a state is let go by reference counting)."""
    with collector_paused():
        return _fold_all(redis, job, folded)


def _fold_all(redis: Redis, job: ShardJob, folded: Folded) -> ShardsFolded:
    store = ViewStore(redis, job.prefix, job.projection.name, partition=job.partition)
    reader = EntryReader(redis, job.stream)
    result = ShardsFolded()
    for shard in job.shards:
        states: dict[str, State] = {}
        try:
            _fold_shard(reader, job, shard, states, folded)
        except _ReducerFailed as e:
            return ShardsFolded(reducer_failed=str(e))
        store.write_states(job.generation, states)
        result.digests.update(state_digests(states))
    return result


def _fold_shard(
    reader: EntryReader, job: ShardJob, shard: int, states: dict[str, State], folded: Folded
) -> None:
    last = 0
    while last < job.through:
        entries = reader.flat_after(last, job.through, BULK_PAGE)
        if not entries:
            return
        folded(_fold_page(job.projection, states, entries, shard, job.of))
        last = position_of(entries[-1][0])


def _fold_page(
    projection: Projection,
    states: dict[str, State],
    entries: list[FlatEntry],
    shard: int,
    of: int,
) -> int:
    """Folds the page's entries of the shard's negotiations; returns how many were its own.
    Another shard's entry is skipped on its flat field list (no field dict is built)."""
    own = 0
    for entry_id, flat in entries:
        if of > 1 and zlib.crc32(_negotiation_of(flat)) % of != shard:
            continue
        own += 1
        fields = pairs(flat)
        if not kept(projection, fields):
            continue
        wire = recorded_event(entry_id, fields)
        state = states.get(wire["negotiation_id"])
        if state is None:
            state = states[wire["negotiation_id"]] = empty()
        try:
            projection.apply_into(state, [wire])
        except Exception as e:
            raise _ReducerFailed(e) from e
    return own


def _negotiation_of(flat: list[bytes]) -> bytes:
    """The ``negotiation_id`` field of a flat list of names and values (names at even
    places: a value equal to the name is never taken for it)."""
    return flat[2 * flat[::2].index(b"negotiation_id") + 1]


# In a worker process: the counters of folded entries shared with the rebuilding process.
_shared: dict[str, Any] = {}


def adopt_counters(counters: Any) -> None:
    """A worker process's initializer: keeps the shared counters (one per job)."""
    _shared["counters"] = counters


def fold_in_worker(index: int, job: ShardJob, connecting: Connecting) -> ShardsFolded:
    """``fold_shards`` in a worker process, counting into the shared counter ``index``."""

    def count(entries: int) -> None:
        _shared["counters"][index] += entries

    redis = connecting.client()
    try:
        return fold_shards(job, count, redis)
    finally:
        redis.close()


class Rate:
    """Progress lines at most once a second: entries folded of the total, and the rate."""

    def __init__(self, name: str, total: int, say: Callable[[str], object]) -> None:
        self.name = name
        self.total = total
        self.say = say
        self.started = self.said = time.perf_counter()

    def report(self, done: int, *, last: bool = False) -> None:
        now = time.perf_counter()
        if not last and now - self.said < 1.0:
            return
        self.said = now
        rate = done / max(now - self.started, 1e-9)
        self.say(f"  {self.name}: folded {done}/{self.total} entries, {rate:.0f}/s")
