"""Projection benchmarks: applying every view, rebuilding one, and save-to-view latency.

Each runs on the given Redis URL and prefix (tests), else on the configured Redis
(TALKSTREAM_REDIS_URL) or an embedded one under a fresh prefix; either way every key under the
prefix is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import hashlib
import logging
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from redis import Redis

from events import Envelope, RecordedEvent, hashed_body, seal
from projections.collector import collector_paused
from projections.live.apply import EntryReader
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.live.worker import appliers, build_projectors
from projections.negotiation import State, empty
from projections.views import PROJECTIONS, STORED, Projection
from services.bench.record import _note, _opening
from services.bench.target import bench_redis
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.runtime.runner import settle_collector
from services.settings import Settings
from services.wire.entries import entry_args, entry_fields, entry_id, recorded_event
from services.wire.groups import ensure_group
from services.wire.streams import Streams, as_fields

Progress = Callable[[str], object]
Worker = Callable[[threading.Event], None]
STEP = 500  # entries each applier applies in turn (a delivery of the workers' batch size)
REPORT_EVERY = 2.0  # seconds between progress lines while waiting
TIMEOUT = 600.0
ALONE_AT_MOST = 50_000  # entries the fold-alone figure decodes and folds (held in memory)
QUIET = logging.getLogger("talkstream.bench.quiet")  # FastStream's per-message lines, dropped
QUIET.setLevel(logging.CRITICAL)


def _store(tmp: Path) -> Negotiations:
    return build_application(Settings(home=tmp / "store", store="sqlite"))


def _elapsed_rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


# ``bench project``: the five projections vs a raw group consumer vs FastStream's default.


def bench_project(
    events: int,
    progress: Progress,
    *,
    redis_url: str | None = None,
    prefix: str | None = None,
) -> dict[str, float]:
    """Events/s: all five projections applied one after another (sequentially, in this
    thread), a raw XREADGROUP COUNT 500 + XACK consumer (one group, and one group per view
    read one after another: the same reading the five views do), and FastStream's
    single-message subscriber with a no-op handler, all over the same stream of ``events``
    entries."""
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
    ):
        redis = Redis.from_url(url)
        stream = Streams(pfx).events
        total = _fill_stream(Path(tmp), redis, stream, events, progress)
        progress(f"applying all {len(PROJECTIONS)} projections to {total} entries…")
        cpu_before = _redis_cpu_seconds(redis)
        with _settled():
            views = _apply_all(redis, pfx, total, progress)
        redis_cpu = _redis_cpu_seconds(redis) - cpu_before
        progress("decoding and folding the same entries alone, in memory…")
        alone = _fold_alone(redis, stream, STORED, min(total, ALONE_AT_MOST))
        progress("raw consumer: XREADGROUP COUNT 500 + XACK, fresh group…")
        raw = _raw_group(redis, stream, f"{pfx}:bench:raw", total)
        progress(
            f"raw consumer, one fresh group per stored view ({len(STORED)}), one after another…"
        )
        raw_per_view = _raw_groups(redis, stream, f"{pfx}:bench:raw", total)
        progress("FastStream single-message subscriber, no-op handler, fresh group…")
        ensure_group(redis, stream, f"{pfx}:bench:faststream")
        single = asyncio.run(_faststream(url, stream, f"{pfx}:bench:faststream", total, progress))
        redis.close()
    return {
        "projections": views,
        "fold_alone": alone,
        "redis_cpu_us": 1e6 * redis_cpu / total,
        "raw": raw,
        "raw_per_view": raw_per_view,
        "faststream": single,
        "stored": float(len(STORED)),
    }


def _fill_stream(tmp: Path, redis: Redis, stream: str, events: int, progress: Progress) -> int:
    """Records ``events`` events (openings and notes over up to 50 negotiations) in a fresh
    SQLite store and relays them; returns the stream's length."""
    negotiations = max(1, min(50, events // 10))
    app = _store(tmp)
    app.record_many([_opening(i) for i in range(negotiations)], principal="bench")
    progress(f"storing {events} events over {negotiations} negotiations…")
    for start in range(0, events - negotiations, 500):
        end = min(start + 500, events - negotiations)
        drafts = [_note(n % negotiations, n) for n in range(start, end)]
        app.record_many(drafts, principal="bench")
    progress("relaying them to a fresh stream…")
    Relay(app, redis, stream=stream).catch_up()
    app.close()
    return int(redis.xlen(stream))


def _apply_all(redis: Redis, prefix: str, total: int, progress: Progress) -> float:
    """The workers' appliers of every view (one per stored state, sharing one reader of the
    stream), following the stream together as the workers of one process do: each applies
    the next ``STEP`` entries in turn."""
    workers = appliers(redis, prefix)
    spent = dict.fromkeys(workers, 0.0)
    started = time.perf_counter()
    for upto in range(STEP, total + STEP, STEP):
        for name, applier in workers.items():
            began = time.perf_counter()
            reached = applier.apply_through(min(upto, total))
            spent[name] += time.perf_counter() - began
            if reached != min(upto, total):
                raise RuntimeError(f"{name} stopped at position {reached} of {total}")
    rate = _elapsed_rate(total, started)
    for name, seconds in spent.items():
        progress(f"  {name}: {total / seconds:.0f} events/s")
    reads = next(iter(workers.values())).reads
    progress(f"  shared reads: {reads.misses} from Redis, {reads.hits} from memory")
    return rate


@contextmanager
def _settled() -> Iterator[None]:
    """The collector settled as a worker process settles it once built (``settle_collector``),
    undone afterwards (the bench may run in a process that goes on, a test's)."""
    settle_collector()
    try:
        yield
    finally:
        gc.unfreeze()


def _redis_cpu_seconds(redis: Redis) -> float:
    """The Redis server's CPU time so far (INFO cpu, user + system): on a server other
    clients use, their commands count too."""
    cpu: Any = redis.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _fold_alone(
    redis: Redis, stream: str, projections: Mapping[str, Projection], count: int
) -> float:
    """Events/s decoding the stream's first ``count`` entries (read beforehand) and folding
    them into every state of ``projections`` in memory, with the collector paused as the
    appliers pause it: no Redis, no encoding, no bookkeeping. The most one process of this
    design (JSON events folded one by one in Python) can apply, whatever its plumbing."""
    entries = EntryReader(redis, stream).after(0, count=count)
    with collector_paused():
        started = time.perf_counter()
        states = fold_in_memory(entries, projections)
        rate = _elapsed_rate(len(entries), started)
        states.clear()  # freed while the collector is paused: no pass over them
    return rate


def fold_in_memory(
    entries: list[tuple[bytes, dict[bytes, bytes]]], projections: Mapping[str, Projection]
) -> dict[tuple[str, str], State]:
    """The states of ``projections`` (keyed by name and negotiation) folded from stream
    entries as Redis returns them, decoded one by one as the appliers decode them."""
    states: dict[tuple[str, str], State] = {}
    for at, fields in entries:
        wire = recorded_event(at, fields)
        for name, projection in projections.items():
            if projection.keeps(wire["type"]):
                key = (name, wire["negotiation_id"])
                state = states.get(key)
                if state is None:
                    state = states[key] = empty()
                projection.apply_into(state, [wire])
    return states


def _raw_group(redis: Redis, stream: str, group: str, total: int) -> float:
    ensure_group(redis, stream, group)
    done = 0
    started = time.perf_counter()
    while done < total:
        reply: Any = redis.xreadgroup(group, "bench", {stream: ">"}, count=500)
        if not reply:
            raise RuntimeError(f"the raw consumer read only {done} of {total} entries")
        ids = [entry for entry, _ in reply[0][1]]
        redis.xack(stream, group, *ids)
        done += len(ids)
    return _elapsed_rate(total, started)


def _raw_groups(redis: Redis, stream: str, group_prefix: str, total: int) -> float:
    """Events/s through one raw group per stored state (what the views' workers read), read
    one after another."""
    started = time.perf_counter()
    for name in STORED:
        _raw_group(redis, stream, f"{group_prefix}:{name}", total)
    return _elapsed_rate(total, started)


async def _faststream(url: str, stream: str, group: str, total: int, progress: Progress) -> float:
    """FastStream's default stream subscriber (one message per call, acked after the
    handler); the group was created at 0 beforehand."""
    broker = RedisBroker(url, logger=QUIET)
    handled = 0

    @broker.subscriber(stream=StreamSub(stream, group=group, consumer="bench"))
    async def on_message(body: Any) -> None:
        nonlocal handled
        handled += 1

    started = time.perf_counter()
    await broker.start()
    try:
        await _until(lambda: handled >= total, lambda: f"  {handled}/{total} handled", progress)
        return _elapsed_rate(total, started)
    finally:
        await broker.stop()


async def _until(done: Callable[[], bool], status: Callable[[], str], progress: Progress) -> None:
    started = reported = time.monotonic()
    while not done():
        now = time.monotonic()
        if now - started > TIMEOUT:
            raise TimeoutError(f"not done after {TIMEOUT:.0f} s: {status().strip()}")
        if now - reported > REPORT_EVERY:
            progress(status())
            reported = now
        await asyncio.sleep(0.005)


# ``bench rebuild``: rebuilding the negotiation projection vs a raw XRANGE scan.


def bench_rebuild(
    events: int,
    progress: Progress,
    *,
    redis_url: str | None = None,
    prefix: str | None = None,
    workers: int | None = None,
) -> dict[str, float]:
    """Events/s: ``rebuild`` of the negotiation projection over ``events`` generated entries
    vs a raw XRANGE scan of the same stream in pages of 1000."""
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
    ):
        redis = Redis.from_url(url)
        stream = Streams(pfx).events
        _generate(redis, stream, events, progress)
        progress("rebuilding the negotiation projection…")
        store = ViewStore(redis, pfx, "negotiation")
        rss_before = _peak_rss_mb()
        started = time.perf_counter()
        done = rebuild(
            redis, store, PROJECTIONS["negotiation"], stream, progress=progress, workers=workers
        )
        rebuilt = _elapsed_rate(events, started)
        workers_peak = _children_peak_rss_mb()
        if done.position != events:
            raise RuntimeError(f"the rebuild stopped at position {done.position} of {events}")
        peak = _peak_rss_mb()
        progress("measuring Redis memory of the stream and the views…")
        stream_bytes = _memory(redis, [stream])
        bases = [Streams(pfx).view(name).base for name in STORED]
        views = [k for b in bases for k in redis.scan_iter(match=f"{b}:*", count=1000)]
        views_bytes = _memory(redis, views)
        progress("raw XRANGE scan in pages of 1000…")
        raw = _scan(redis, stream, events)
        sample = min(events, ALONE_AT_MOST)
        progress(f"decoding and folding the first {sample} entries alone, in memory…")
        alone = _fold_alone(redis, stream, {"negotiation": STORED["negotiation"]}, sample)
        redis.close()
    return {
        "rebuild": rebuilt,
        "fold_alone": alone,
        "raw": raw,
        "workers": float(done.workers),
        "passes": float(done.passes),
        "peak_rss_mb": peak,
        "workers_peak_rss_mb": workers_peak,
        "rss_growth_mb": peak - rss_before,
        "stream_bytes_per_event": stream_bytes / events,
        "views_bytes_per_event": views_bytes / events,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_peak_rss_mb() -> float:
    """The largest peak resident memory of this process's waited-for children, in MiB (the
    rebuild's worker processes; 0 when it folded in this process)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _memory(redis: Redis, keys: list[Any]) -> int:
    """Bytes Redis holds for ``keys`` (MEMORY USAGE, every element counted)."""
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(n or 0) for n in pipe.execute())


class _Chains:
    """Per negotiation: the version and hash of its last event."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}

    def next(self, negotiation_id: str) -> tuple[int, str | None]:
        version, last = self.heads.get(negotiation_id, (0, None))
        return version + 1, last

    def advance(self, negotiation_id: str, version: int, hash: str) -> None:
        self.heads[negotiation_id] = (version, hash)


class _Writer:
    """Pipelined XADDs with IDs ``<position>-0``; a progress line every 50,000 entries."""

    def __init__(self, redis: Redis, stream: str, total: int, progress: Progress) -> None:
        self.redis = redis
        self.stream = stream
        self.total = total
        self.progress = progress
        self.position = 0
        self.pipe = redis.pipeline(transaction=False)

    def add(self, body: bytes, hash: str) -> None:
        self.position += 1
        fields = entry_fields(entry_args(self.position, body.decode("utf-8"), hash))
        self.pipe.xadd(self.stream, as_fields(fields), id=entry_id(self.position))
        if self.position % 1000 == 0:
            self.pipe.execute()
        if self.position % 50_000 == 0:
            self.progress(f"  {self.position}/{self.total} entries written")

    def flush(self) -> None:
        self.pipe.execute()


def _generate(redis: Redis, stream: str, events: int, progress: Progress) -> None:
    """Writes ``events`` valid entries without the store: one sealed NegotiationOpened per
    negotiation (about 1000), then ContextNoted notes round-robin, each a sealed template with
    its negotiation, event_id, version, prev_hash and text replaced and its body rehashed."""
    negotiations = max(1, min(1000, events // 20))
    progress(f"writing {events} entries over {negotiations} negotiations…")
    now = datetime.now(UTC)
    chains = _Chains()
    writer = _Writer(redis, stream, events, progress)
    for i in range(negotiations):
        opened = _sealed(_opening(i), chains, now)
        writer.add(hashed_body(opened.wire), opened.stamp.hash)
    template = _sealed(_note(0, 0), _Chains(), now).wire
    for n in range(events - negotiations):
        body, digest = _derived(template, f"bench-{n % negotiations}", n, chains)
        writer.add(body, digest)
    writer.flush()


def _sealed(draft: Envelope, chains: _Chains, now: datetime) -> RecordedEvent:
    version, last = chains.next(draft.negotiation_id)
    event = seal(
        draft,
        event_id=str(uuid.uuid4()),
        recorded_at=now,
        recorded_by="bench",
        version=version,
        prev_hash=last,
    )
    chains.advance(draft.negotiation_id, version, event.stamp.hash)
    return event


def _derived(
    template: dict[str, Any], negotiation_id: str, n: int, chains: _Chains
) -> tuple[bytes, str]:
    version, last = chains.next(negotiation_id)
    wire = {
        **template,
        "negotiation_id": negotiation_id,
        "event_id": str(uuid.uuid4()),
        "version": version,
        "prev_hash": last,
        "payload": {**template["payload"], "text": f"About 2,500 troops (note {n})."},
    }
    body = hashed_body(wire)
    digest = hashlib.sha256(body).hexdigest()
    chains.advance(negotiation_id, version, digest)
    return body, digest


def _scan(redis: Redis, stream: str, total: int) -> float:
    done = 0
    lower = "-"
    started = time.perf_counter()
    while page := redis.xrange(stream, min=lower, max="+", count=1000):
        done += len(page)
        last = page[-1][0]
        lower = f"({last.decode() if isinstance(last, bytes) else last}"
    if done != total:
        raise RuntimeError(f"the scan read {done} of {total} entries")
    return _elapsed_rate(total, started)


# ``bench latency``: from a save's return until the negotiation view has applied it.


def bench_latency(
    rate: float,
    seconds: float,
    progress: Progress,
    *,
    redis_url: str | None = None,
    prefix: str | None = None,
    writers: int = 1,
) -> dict[str, float]:
    """Records one event per save at ``rate`` per second for ``seconds`` from ``writers``
    threads taking the saves in turn, with the relay in a
    thread (woken by each save) and the negotiation projection's FastStream worker in another;
    returns p50/p99/max latency in ms until the view's tracked position covers each save, and
    the rate achieved."""
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
    ):
        app = _store(Path(tmp))
        relay = Relay(app, Redis.from_url(url), stream=Streams(pfx).events)
        app.after_save.append(relay.notify)
        watcher = _Watcher(Redis.from_url(url), ViewStore(Redis.from_url(url), pfx, "negotiation"))
        with (
            _in_thread(relay.run, wake=relay.notify),
            _in_thread(_projector(url, pfx)),
            _in_thread(watcher.run),
        ):
            negotiations = 10
            app.record_many([_opening(i) for i in range(negotiations)], principal="bench")
            watcher.wait_for(app.max_position())
            progress(f"recording at {rate:g} events/s for {seconds:g} s…")
            saves, achieved = _record_paced(
                app, rate, seconds, negotiations, progress, writers=writers
            )
            watcher.wait_for(max(position for position, _ in saves))
        app.close()
    return _latencies(saves, watcher) | {"rate": achieved}


@contextmanager
def _in_thread(work: Worker, wake: Callable[[], None] | None = None) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=work, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        if wake is not None:
            wake()
        thread.join(timeout=30)


def _projector(url: str, prefix: str) -> Worker:
    """The negotiation projection's worker (build_projectors) on its own asyncio loop."""

    def serve(stop: threading.Event) -> None:
        async def main() -> None:
            only = {"negotiation": PROJECTIONS["negotiation"]}
            app, _, _ = build_projectors(url, prefix, projections=only)
            async with app:
                while not stop.is_set():
                    await asyncio.sleep(0.05)

        asyncio.run(main())

    return serve


class _Watcher:
    """Notes when the view's tracked position moves: XREAD BLOCK on the changes stream and a
    read of the served generation's tracked position, pipelined (one round trip: the read
    runs when the XREAD returns). The generation is read once: nothing rebuilds the view
    during the benchmark."""

    def __init__(self, redis: Redis, store: ViewStore) -> None:
        self.redis = redis
        self.store = store
        self.positions: list[int] = []
        self.times: list[float] = []
        self.moved = threading.Condition()

    def run(self, stop: threading.Event) -> None:
        last: bytes | str = "0-0"
        tracked_key = self.store.keys.tracked(self.store.generation())
        while not stop.is_set():
            pipe = self.redis.pipeline(transaction=False)
            pipe.xread({self.store.changes_stream: last}, count=1000, block=20)
            pipe.get(tracked_key)
            reply, raw_tracked = pipe.execute()
            if reply:
                last = reply[0][1][-1][0]
            self._note(int(raw_tracked or 0))

    def _note(self, tracked: int) -> None:
        if tracked > (self.positions[-1] if self.positions else 0):
            with self.moved:
                self.positions.append(tracked)
                self.times.append(time.perf_counter())
                self.moved.notify_all()

    def seen_at(self, position: int) -> float:
        return self.times[bisect.bisect_left(self.positions, position)]

    def wait_for(self, position: int, timeout: float = 60.0) -> None:
        with self.moved:
            reached = self.moved.wait_for(
                lambda: bool(self.positions) and self.positions[-1] >= position, timeout
            )
        if not reached:
            raise TimeoutError(f"the view did not reach position {position} in {timeout:.0f} s")


def _record_paced(
    app: Negotiations,
    rate: float,
    seconds: float,
    negotiations: int,
    progress: Progress,
    *,
    writers: int = 1,
) -> tuple[list[tuple[int, float]], float]:
    """(position, the moment the save returned) of each save, and the rate achieved. Save
    ``n`` is due ``n / rate`` seconds after the start; ``writers`` threads take the saves in
    turn (as concurrent clients would), so the group commit can store saves that fall due
    while a commit runs together."""
    count = max(2, int(rate * seconds))
    drafts = [_note(n % negotiations, n) for n in range(count)]
    saves: list[tuple[int, float]] = []
    started = time.perf_counter()

    def write(first: int) -> None:
        reported = started
        for n in range(first, count, writers):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            written = app.record(drafts[n], principal="bench")
            saves.append((written.position, time.perf_counter()))
            if first == 0 and time.perf_counter() - reported > REPORT_EVERY:
                progress(f"  {len(saves)}/{count} saved")
                reported = time.perf_counter()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return saves, _elapsed_rate(count, started)


def _latencies(saves: list[tuple[int, float]], watcher: _Watcher) -> dict[str, float]:
    """Milliseconds; a view that was there before the save returned counts as 0."""
    ms = [max(0.0, watcher.seen_at(p) - saved) * 1000 for p, saved in saves]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": cuts[49], "p99_ms": cuts[98], "max_ms": max(ms)}
