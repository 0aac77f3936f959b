"""Folding a rebuild's shards of negotiations: what one rebuild worker does, in a process of
its own or in the rebuilding one.

A shard is the negotiations whose id's CRC-32 modulo the number of shards is its number. A
worker folds its shards one after another (a pass holds one shard's states, so memory follows
the shard, not the stream) but reads the stream once, in pages of ``BULK_PAGE`` through the
position the rebuild fixed at its start: it folds its first shard as it reads, and writes the
entries of its other shards to a temporary file each (as read, a page at a time), which it
folds from afterwards. Each entry is routed by its raw ``negotiation_id`` field: another
shard's entry costs a CRC, never a decoding. So the stream is read once per worker whatever
its length (reading it once per pass made the rebuild's cost per event grow with the stream).
The worker writes each shard's states and returns the digest of each negotiation's state,
from which the rebuild computes the fingerprint (one digest per negotiation, whatever the
number of workers or passes).
"""

from __future__ import annotations

import pickle
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

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
    first, later = job.shards[0], job.shards[1:]
    with ExitStack() as files:
        spills: dict[int, IO[bytes]] = {
            shard: files.enter_context(tempfile.TemporaryFile()) for shard in later
        }
        try:
            states: dict[str, State] = {}
            for page in _read_routing(reader, job, first, spills):
                folded(_fold_page(job.projection, states, page))
            _finish(store, job, states, result)
            for shard in later:
                states = {}
                for page in _spilled(spills[shard]):
                    folded(_fold_page(job.projection, states, page))
                _finish(store, job, states, result)
        except _ReducerFailed as e:
            return ShardsFolded(reducer_failed=str(e))
    return result


def _finish(store: ViewStore, job: ShardJob, states: dict[str, State], into: ShardsFolded) -> None:
    """Writes one shard's states and keeps their digests."""
    store.write_states(job.generation, states)
    into.digests.update(state_digests(states))


def _read_routing(
    reader: EntryReader, job: ShardJob, first: int, spills: dict[int, IO[bytes]]
) -> Iterator[list[FlatEntry]]:
    """The stream's pages through ``job.through``, each as its entries of shard ``first``;
    the entries of the shards in ``spills`` go to their files, one pickled list per page."""
    last = 0
    while last < job.through:
        entries = reader.flat_after(last, job.through, BULK_PAGE)
        if not entries:
            return
        yield _route(entries, job.of, first, spills)
        last = position_of(entries[-1][0])


def _route(
    entries: list[FlatEntry], of: int, first: int, spills: dict[int, IO[bytes]]
) -> list[FlatEntry]:
    """The page's entries of shard ``first``; those of the shards in ``spills`` are written to
    their files; another worker's entries are skipped on their flat field list (no field
    dict is built)."""
    if of == 1:
        return entries
    own: list[FlatEntry] = []
    spilled: dict[int, list[FlatEntry]] = {shard: [] for shard in spills}
    for entry in entries:
        shard = zlib.crc32(_negotiation_of(entry[1])) % of
        if shard == first:
            own.append(entry)
        elif shard in spilled:
            spilled[shard].append(entry)
    for shard, page in spilled.items():
        if page:
            pickle.dump(page, spills[shard], protocol=pickle.HIGHEST_PROTOCOL)
    return own


def _spilled(spill: IO[bytes]) -> Iterator[list[FlatEntry]]:
    """The pages written to a shard's file, in the order they were written."""
    spill.seek(0)
    while True:
        try:
            page: list[FlatEntry] = pickle.load(spill)  # noqa: S301 (this process wrote it)
        except EOFError:
            return
        yield page


def _fold_page(projection: Projection, states: dict[str, State], entries: list[FlatEntry]) -> int:
    """Folds the page's entries (all of one shard); returns how many there were."""
    for entry_id, flat in entries:
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
    return len(entries)


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
