"""Feeding a projection from ``<prefix>:events``: read after the tracked position, fold, commit.

The applier reads the stream itself from the tracked position (exclusive) rather than trusting
what a consumer was handed, so order and completeness never depend on delivery: redelivered
entries are at or below the tracked position and skipped; a gap left by a failed batch is read
again. States are cached between batches, within a budget of folded events (``StateCache``), and
dropped whenever a commit loses its compare-and-set (another worker or a rebuild moved on).

A reducer that raises for an event parks that event's negotiation at once (reducers are pure:
another try would fail the same way): its later events wait in a list, other negotiations go
on, and ``retry_parked`` resumes it after a fix. What is retried is a commit that lost its
compare-and-set: the next batch is computed again from what Redis holds.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis import Redis

from projections.collector import collector_paused
from projections.live import codec, tracing
from projections.live.statecache import STATE_BUDGET_EVENTS, StateCache
from projections.live.store import Batch, ViewStore
from projections.negotiation import State, empty
from projections.views import Projection
from services.wire.connect import pool_reaching
from services.wire.entries import entry_id, position_of, recorded_event

log = logging.getLogger("talkstream.projections")
READ_CHUNK = 1000


Entry = tuple[bytes, dict[bytes, bytes]]
FlatEntry = tuple[bytes, list[bytes]]


class EntryReader:
    """Reads ranges of ``<prefix>:events`` on the client's connection pool, taking Redis's
    reply as it comes (flat field lists) rather than through redis-py's per-entry parsing."""

    def __init__(self, redis: Redis, stream: str) -> None:
        self.client = Redis(connection_pool=pool_reaching(redis, stream))
        self.client.set_response_callback("XRANGE", lambda response, **_: response)
        self.stream = stream

    def after(self, position: int, *, through: int | None = None, count: int) -> list[Entry]:
        """Up to ``count`` entries after ``position``, through ``through`` if given."""
        return [(at, pairs(flat)) for at, flat in self.flat_after(position, through, count)]

    def flat_after(self, position: int, through: int | None, count: int) -> list[FlatEntry]:
        """As ``after``, each entry's fields left as Redis's flat list (name, value, ...):
        for a reader that looks at one field of most entries and skips them."""
        upper = entry_id(through) if through is not None else "+"
        lower = f"({entry_id(position)}"
        reply: Any = self.client.xrange(self.stream, min=lower, max=upper, count=count)
        return cast(list[FlatEntry], reply)


class Read:
    """One entry of the stream as read: its position, its plain ``type`` field, and the
    recorded event decoded on first use (once per process, however many appliers use it:
    reducers never change the events they are given)."""

    __slots__ = ("_wire", "entry_id", "fields", "position", "type")

    def __init__(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        self.entry_id = entry_id
        self.fields = fields
        self.position = position_of(entry_id)
        self.type = fields[b"type"].decode()
        self._wire: dict[str, Any] | None = None

    @property
    def wire(self) -> dict[str, Any]:
        if self._wire is None:
            self._wire = recorded_event(self.entry_id, self.fields)
        return self._wire


@dataclass(frozen=True)
class _Chunk:
    """Every stream entry after ``after`` up to the last one it holds, as one read returned
    them (the stream only grows at its end, so what a range held it holds for good, until
    the stream is replaced: see ``SharedReads``)."""

    after: int
    reads: list[Read]

    def covers(self, position: int) -> bool:
        return self.after <= position < self.reads[-1].position

    def following(self, position: int, through: int | None, count: int) -> list[Read]:
        start = bisect.bisect_right([r.position for r in self.reads], position)
        picked = self.reads[start : start + count]
        if through is not None:
            picked = [r for r in picked if r.position <= through]
        return picked


class SharedReads:
    """The reads of ``<prefix>:events`` shared by the appliers of one process: a range one
    of them read (and the events it decoded) is handed to the others from memory while it is
    among the last ``keep`` ranges read; a projection that lags behind them reads Redis
    itself, so none waits for another.

    A range is only reused while no applier of the process has read its head from Redis
    since the range was read: a rebuild of the stream replaces what its positions hold and
    switches every view, and each applier learns of a switch by reading its head, which
    first forgets every range read before (``forget``; a read in flight meanwhile is not
    kept)."""

    def __init__(self, reader: EntryReader, *, keep: int = 4) -> None:
        self.reader = reader
        self.keep = keep
        self._lock = threading.Lock()
        self._chunks: list[_Chunk] = []
        self._epoch = 0
        self.hits = 0
        self.misses = 0

    def forget(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._epoch += 1

    def after(self, position: int, *, through: int | None = None, count: int) -> list[Read]:
        """Up to ``count`` entries after ``position`` (through ``through``, if given)."""
        with self._lock:
            for chunk in reversed(self._chunks):
                if chunk.covers(position):
                    self.hits += 1
                    return chunk.following(position, through, count)
            epoch = self._epoch
        reads = [Read(i, f) for i, f in self.reader.after(position, through=through, count=count)]
        with self._lock:
            self.misses += 1
            if reads and epoch == self._epoch:
                self._chunks = [*self._chunks[-(self.keep - 1) :], _Chunk(position, reads)]
        return reads


def pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """An entry's fields from Redis's flat list of names and values."""
    items = iter(flat)
    return dict(zip(items, items, strict=True))


def kept(projection: Projection, fields: dict[bytes, bytes]) -> bool:
    """Whether a stream entry reaches the projection's reducer, judged by its plain ``type``
    field so that other entries are never decoded (nor wait behind a parked negotiation: the
    fold would skip them anyway)."""
    return not projection.types or projection.keeps(fields[b"type"].decode())


@dataclass(frozen=True)
class _Head:
    """Where a projection's generation stands: what the next batch is computed from. The
    applier remembers the one its last commit left and reads it again only when a commit
    loses its compare-and-set (the commit script checks the generation, the tracked position
    and every parking the batch relied on, so a stale one is never written from)."""

    gen: str
    tracked: int
    parked: dict[str, dict[str, Any]]


@dataclass
class RetryReport:
    negotiation_id: str
    resumed: bool
    applied: int
    reason: str = ""


class Applier:
    def __init__(
        self,
        redis: Redis,
        store: ViewStore,
        projection: Projection,
        events_stream: str,
        *,
        generation: str | None = None,
        reads: SharedReads | None = None,
        state_budget: int = STATE_BUDGET_EVENTS,
    ) -> None:
        """``reads``: the reads shared with the other appliers of the process (by default
        its own); ``state_budget``: the events the states kept between batches may hold
        (``StateCache``)."""
        self.redis = redis
        self.store = store
        self.projection = projection
        self.stream = events_stream
        self.reads = reads or SharedReads(EntryReader(redis, events_stream))
        self.fixed_generation = generation
        self._lock = threading.Lock()
        self._cache = StateCache(state_budget)
        self._cached_at: tuple[str, int] | None = None
        self._head: _Head | None = None  # as left by this applier's last commit

    def generation(self) -> str:
        return self.fixed_generation or self.store.generation()

    def apply_through(self, last: int | None = None, *, beyond: bool = False) -> int:
        """Applies every entry after the tracked position up to ``last`` (default: the stream's
        end); with ``beyond``, also the entries after ``last`` that the reads bring (one batch
        then covers what arrived meanwhile). Returns the tracked position reached. One caller
        at a time (the state cache)."""
        with self._lock:
            return self._apply_through(last, beyond)

    def forget(self) -> None:
        """Drops what the last commit left in memory: after Redis restarted, the views may
        stand behind it (Redis may lose its last second of writes)."""
        with self._lock:
            self._cache.clear()
            self._cached_at = None
            self._head = None

    def covers(self, position: int) -> bool:
        """Whether this applier's last commit reached ``position`` (no Redis call: the
        generation served next, if any, has reached it too, as a switch needs that)."""
        head = self._head
        return head is not None and head.tracked >= position

    def follow_switch(self) -> bool:
        """If readers were switched to another generation than the one this applier's last
        commit wrote, forgets what it remembered and applies the stream from the served
        generation's position; True if it did. A rebuild after the event stream was replaced
        switches to a generation behind the old one, whose remembered position would otherwise
        cover (and skip) the new stream's next entries."""
        head = self._head
        if head is None or self.fixed_generation is not None:
            return False
        if self.store.generation() == head.gen:
            return False
        with self._lock:
            self._head = None
            self._cache.clear()
            self._cached_at = None
            self._apply_through(None)
        return True

    def _apply_through(self, last: int | None, beyond: bool = False) -> int:
        while True:
            cached = self._head
            head = cached or self._read_head()
            if last is not None and head.tracked >= last:
                return head.tracked
            with collector_paused():
                applied = self._apply_next(head, None if beyond else last)
            if applied:
                continue
            if cached is None:
                return head.tracked
            self._head = None  # nothing after the remembered head: confirm it is current

    def _apply_next(self, head: _Head, upto: int | None) -> bool:
        """Applies the next chunk of entries after ``head`` (through ``upto``, if given);
        False if there was none."""
        reads = self.reads.after(head.tracked, through=upto, count=READ_CHUNK)
        if not reads:
            return False
        keeps = self.projection.keeps if self.projection.types else None
        wires = [r.wire for r in reads if keeps is None or keeps(r.type)]
        self._apply_batch(head, wires, reads[-1].position)
        return True

    def _read_head(self) -> _Head:
        self.reads.forget()  # what was read before may belong to a replaced stream
        gen = self.generation()
        return _Head(gen, self.store.tracked(gen), self.store.parked(gen))

    def _apply_batch(self, head: _Head, wires: list[dict[str, Any]], through: int) -> bool:
        """Applies wires that follow ``head`` and tracks ``through`` (entries in between were
        of types the projection does not keep); False if the commit lost its compare-and-set
        (nothing was written; the caller reads again)."""
        gen, parked = head.gen, head.parked
        batch = Batch()
        states = self._states(head, wires)
        for wire in wires:
            self._apply_one(gen, wire, states, parked, batch)
        served = self.fixed_generation is None
        if self.store.commit(gen, head.tracked, through, batch, served=served):
            tracing.applied(self.redis, self.stream, self.projection.name, wires)
            self._keep(batch.states)
            for nid in parked.keys() | batch.parked.keys():
                # a parked negotiation may be resumed elsewhere (dlq retry): reload it then
                self._cache.drop(nid)
            self._cached_at = (gen, through)
            self._head = _Head(gen, through, parked | batch.parked)
            return True
        self._cache.clear()
        self._cached_at = None
        self._head = None
        return False

    def _keep(self, states: dict[str, State]) -> None:
        """Keeps the slice of each committed state that later batches are likely to read
        (``codec.trim``): the cache's memory follows the negotiations, not their events."""
        slices, fields = {}, {}
        for nid, state in states.items():
            slices[nid], fields[nid] = codec.trim(state)
        self._cache.keep(slices, fields)

    def _relevant(self, wire: dict[str, Any]) -> bool:
        return self.projection.keeps(wire["type"])

    def _states(self, head: _Head, wires: list[dict[str, Any]]) -> dict[str, State]:
        """The states the batch folds into: each negotiation's slice of the fields its
        events read (``codec.slice_fields``), or its whole state when one of them may read
        any (a correction); from the cache where it holds them, the rest from Redis. A
        catch-up over many long negotiations so holds a few entries of each, not their
        histories."""
        if self._cached_at != (head.gen, head.tracked):
            self._cache.clear()
        needs = self._needs(head, wires)
        states = self._cache.take(needs)
        held_whole = {nid for nid in states if self._cache.fields_of(nid) is None}
        whole = [nid for nid, f in needs.items() if f is None and nid not in held_whole]
        for nid, state in self.store.load(head.gen, whole).items():
            states[nid] = state if state is not None else empty()
        lacking = {  # a slice needed: the fields the held slice (if any) lacks
            nid: sorted(f - (self._cache.fields_of(nid) or set()))
            for nid, f in needs.items()
            if f is not None and nid not in held_whole
        }
        read = self.store.load_fields(head.gen, {n: f for n, f in lacking.items() if f})
        for nid in lacking:
            more = codec.decode(read.get(nid, {}))
            if nid in states:
                codec.merge(states[nid], more)
            else:
                states[nid] = more
        return states

    def _needs(self, head: _Head, wires: list[dict[str, Any]]) -> dict[str, set[str] | None]:
        """Per negotiation of the batch (not parked), the fields its events read; None when
        it needs its whole state."""
        needs: dict[str, set[str] | None] = {}
        for wire in wires:
            nid = wire["negotiation_id"]
            if not self._relevant(wire) or nid in head.parked:
                continue
            fields = codec.slice_fields(wire)
            had = needs.get(nid, set())
            needs[nid] = None if fields is None or had is None else had | fields
        return needs

    def _apply_one(
        self,
        gen: str,
        wire: dict[str, Any],
        states: dict[str, State],
        parked: dict[str, Any],
        batch: Batch,
    ) -> None:
        nid = wire["negotiation_id"]
        if nid in parked or nid in batch.parked:
            batch.waiting.append((nid, orjson.dumps(wire)))
            return
        if not self._relevant(wire):
            return
        error = self._fold(gen, nid, wire, states, batch)
        if error is None:
            batch.states[nid] = states[nid]
            batch.changes[nid] = wire["position"]
            batch.applied.setdefault(nid, []).append(wire)
            return
        batch.parked[nid] = {
            "position": wire["position"],
            "event_id": wire["event_id"],
            "type": wire["type"],
            "reason": error,
            "parked_at": datetime.now(UTC).isoformat(),
        }
        batch.waiting.append((nid, orjson.dumps(wire)))
        log.warning(
            "projection=%s negotiation=%s parked at position=%s reason=%s",
            self.projection.name,
            nid,
            wire["position"],
            error,
        )

    def _fold(
        self, gen: str, nid: str, wire: dict[str, Any], states: dict[str, State], batch: Batch
    ) -> str | None:
        """Folds one event into its negotiation's state; the reason if the reducer failed."""
        try:
            self.projection.apply_into(states[nid], [wire])
        except Exception as e:  # noqa: BLE001 (a failing reducer parks: the dead-letter path)
            states[nid] = self._restore(gen, nid, batch)
            return f"{type(e).__name__}: {e}"
        return None

    def _restore(self, gen: str, nid: str, batch: Batch) -> State:
        """The negotiation's state just before the failed event (a fold may have half-applied
        it): the stored state plus this batch's events of that negotiation that did apply."""
        state = self.store.load(gen, [nid])[nid] or empty()
        self.projection.apply_into(state, batch.applied.get(nid, []))
        if nid in batch.states:
            batch.states[nid] = state
        return state

    def retry_parked(self, negotiation_id: str | None = None) -> list[RetryReport]:
        """Re-applies the waiting events of parked negotiations with the current reducers."""
        with self._lock:
            return self._retry_parked(negotiation_id)

    def _retry_parked(self, negotiation_id: str | None) -> list[RetryReport]:
        gen = self.generation()
        reports = []
        for nid in sorted(self.store.parked(gen)):
            if negotiation_id in (None, nid):
                reports.append(self._retry_one(gen, nid))
        self._cache.clear()
        self._cached_at = None
        self._head = None
        return reports

    def _retry_one(self, gen: str, nid: str) -> RetryReport:
        waiting = self.store.waiting(gen, nid)
        state = self.store.load(gen, [nid])[nid] or empty()
        try:
            self.projection.apply_into(state, waiting)
        except Exception as e:  # noqa: BLE001 (still failing: it stays parked, reason returned)
            return RetryReport(nid, False, 0, f"{type(e).__name__}: {e}")
        if not self.store.unpark(gen, nid, state, len(waiting)):
            return RetryReport(nid, False, 0, "more events arrived meanwhile; retry again")
        return RetryReport(nid, True, len(waiting))
