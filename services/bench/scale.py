"""``bench scale``: record-to-view throughput as projector processes are added.

One store is recorded once; each run publishes it with ``talkstream relay`` to a fresh private
prefix on the Redis while ``talkstream project`` processes follow it, and is timed from the
first entry on the stream until every stored view has tracked the store's last position. The
raw baseline, run in this process over the same entries, is one XREADGROUP COUNT 500 + XACK
consumer. Each run's views are then checked against a rebuild of the same stream.

With P partitions (``TALKSTREAM_PARTITIONS``) the processes split the partitions between them
(``--partitions``); with more processes than partitions, the processes sharing a partition
split its stored views (``--projection``), so with P = 1 they split the views.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from projections.live.partitioned import PartitionedViews
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import STORED
from services.bench.exceptions import BenchFailed
from services.bench.process import running, talkstream_command
from services.bench.record import _note, _opening
from services.bench.target import bench_redis
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.groups import ensure_group
from services.wire.streams import Streams

Progress = Callable[[str], object]
POLL = 0.002  # seconds between readings of the stream and the views while timing
TIMEOUT = 600.0
STOP_TIMEOUT = 30.0
NEGOTIATIONS = 50


@dataclass(frozen=True)
class Run:
    """One (partitions, processes) point of the curve."""

    partitions: int
    processes: int
    events: int
    seconds: float
    rate: float
    raw_rate: float
    views_equal_rebuild: bool
    layout: str
    published_seconds: float  # from the first entry until the last is on the streams

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def bench_scale(
    events: int,
    partitions: list[int],
    processes: list[int],
    progress: Progress,
    *,
    redis_url: str | None = None,
) -> list[Run]:
    """A run per (P, processes), each on a fresh prefix, over one recorded store."""
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp:
        home = Path(tmp) / "store"
        total = _record(home, events, progress)
        with bench_redis(Path(tmp) / "redis-warm-up", redis_url) as (url, prefix):
            _warm_up(home, url, prefix, total, Path(tmp))
        for p in partitions:
            for n in processes:
                progress(f"P={p}, {n} projector process(es): publishing {total} events…")
                with bench_redis(Path(tmp) / f"redis-{p}-{n}", redis_url) as (url, prefix):
                    runs.append(
                        _one_run(home, url, prefix, total, partitions=p, processes=n, tmp=Path(tmp))
                    )
                run = runs[-1]
                progress(
                    f"  {run.rate:.0f} events/s in {run.seconds:.2f} s; raw {run.raw_rate:.0f}/s, "
                    f"ratio {run.ratio:.2f}; views equal a rebuild: {run.views_equal_rebuild}"
                )
    return runs


def _record(home: Path, events: int, progress: Progress) -> int:
    """The pre-recorded store: openings, then notes spread over the negotiations."""
    negotiations = max(1, min(NEGOTIATIONS, events // 10))
    progress(f"recording {events} events over {negotiations} negotiations…")
    app = build_application(Settings(home=home, store="sqlite"))
    try:
        app.record_many([_opening(i) for i in range(negotiations)], principal="bench")
        notes = [_note(n % negotiations, n) for n in range(max(0, events - negotiations))]
        for start in range(0, len(notes), 500):
            app.record_many(notes[start : start + 500], principal="bench")
        return app.max_position()
    finally:
        app.close()


def _warm_up(home: Path, url: str, prefix: str, total: int, tmp: Path) -> None:
    """One untimed publish of the store: the relay's first run also writes the store's
    verifiable log, which the timed runs must not pay for."""
    env = _env(home, url, prefix, 1)
    logs = tmp / "logs-warm-up"
    logs.mkdir()
    redis = Redis.from_url(url)
    try:
        with _talkstream(["relay"], env, logs / "relay.log"):
            deadline = time.monotonic() + TIMEOUT
            while redis.xlen(Streams(prefix).events) < total:
                _check_deadline(deadline, "the warm-up relay did not publish the store", logs)
                time.sleep(0.05)
    finally:
        redis.close()


def _env(home: Path, url: str, prefix: str, partitions: int) -> dict[str, str]:
    return {
        **os.environ,
        "TALKSTREAM_HOME": str(home),
        "TALKSTREAM_STORE": "sqlite",
        "TALKSTREAM_REDIS_URL": url,
        "TALKSTREAM_PREFIX": prefix,
        "TALKSTREAM_PARTITIONS": str(partitions),
    }


@dataclass(frozen=True)
class Share:
    """What one projector process follows: these partitions, these stored views."""

    partitions: tuple[int, ...]
    views: tuple[str, ...]

    def args(self, count: int) -> list[str]:
        spec = ",".join(str(k) for k in self.partitions)
        chosen = ["--partitions", spec] if count > 1 else []
        if self.views != tuple(STORED):
            chosen += [a for name in self.views for a in ("--projection", name)]
        return ["project", *chosen]

    def label(self) -> str:
        views = "all views" if self.views == tuple(STORED) else ",".join(self.views)
        return f"p{','.join(str(k) for k in self.partitions)}: {views}"


def shares(partitions: int, processes: int) -> list[Share]:
    """``processes`` shares covering every (partition, stored view) once: with no more
    processes than partitions, each takes whole partitions (round robin); with more, process
    ``i`` takes partition ``i mod P`` and the processes of one partition split its views
    (round robin). A share left without a view is dropped."""
    names = tuple(STORED)
    if processes <= partitions:
        return [Share(tuple(range(i, partitions, processes)), names) for i in range(processes)]
    found = []
    for i in range(processes):
        k = i % partitions
        sharing = [j for j in range(processes) if j % partitions == k]
        views = names[sharing.index(i) :: len(sharing)]
        if views:
            found.append(Share((k,), views))
    return found


def _one_run(
    home: Path, url: str, prefix: str, total: int, *, partitions: int, processes: int, tmp: Path
) -> Run:
    env = _env(home, url, prefix, partitions)
    redis = Redis.from_url(url)
    parts = Streams(prefix).partitions(partitions)
    split = shares(partitions, processes)
    logs = tmp / f"logs-{prefix}"
    logs.mkdir()
    try:
        with ExitStack() as running:
            for i, share in enumerate(split):
                args = share.args(partitions)
                running.enter_context(_talkstream(args, env, logs / f"project-{i}.log"))
            _wait_groups(redis, prefix, parts, logs)
            running.enter_context(_talkstream(["relay"], env, logs / "relay.log"))
            seconds, published = _time_to_views(redis, prefix, parts, total, logs)
        streams = [part.events for part in parts]
        raw = _raw_consumer(redis, streams, f"{prefix}:bench:raw", total)
        equal = _views_equal_rebuild(redis, prefix, parts)
    finally:
        redis.close()
    layout = " / ".join(share.label() for share in split)
    rate = total / seconds
    return Run(partitions, len(split), total, seconds, rate, raw, equal, layout, published)


@contextmanager
def _talkstream(args: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    """A ``talkstream`` process for the block, stopped with SIGTERM at its end."""
    with running(talkstream_command(*args), log, env, grace=STOP_TIMEOUT):
        yield


def _wait_groups(redis: Redis, prefix: str, parts: list[Streams], logs: Path) -> None:
    """Until every stored view's consumer group exists on every partition's stream (the
    projectors have started)."""
    wanted = {Streams(prefix).projection_group(name) for name in STORED}
    deadline = time.monotonic() + TIMEOUT
    while not all(wanted <= _groups(redis, part.events) for part in parts):
        _check_deadline(deadline, "the projectors did not create their groups", logs)
        time.sleep(0.05)


def _groups(redis: Redis, stream: str) -> set[str]:
    if not redis.exists(stream):
        return set()
    return {_text(g["name"]) for g in redis.xinfo_groups(stream)}


def _time_to_views(
    redis: Redis, prefix: str, parts: list[Streams], total: int, logs: Path
) -> tuple[float, float]:
    """Seconds from the first entry on the streams until every stored view, across all
    partitions, tracks ``total``; and until the relay had put every entry on the streams."""
    deadline = time.monotonic() + TIMEOUT
    while not any(redis.xlen(part.events) for part in parts):
        _check_deadline(deadline, "the relay published nothing", logs)
        time.sleep(POLL)
    started = time.perf_counter()
    published = 0.0
    views = [_views(redis, prefix, name, len(parts)) for name in STORED]
    while min(v.tracked(v.generation()) for v in views) < total:
        if not published and sum(redis.xlen(part.events) for part in parts) >= total:
            published = time.perf_counter() - started
        _check_deadline(deadline, f"the views did not reach position {total}", logs)
        time.sleep(POLL)
    seconds = time.perf_counter() - started
    return seconds, published or seconds


def _check_deadline(deadline: float, what: str, logs: Path) -> None:
    if time.monotonic() > deadline:
        raise BenchFailed(f"{what} within {TIMEOUT:.0f} s{_last_lines(logs)}")


def _last_lines(logs: Path) -> str:
    """The last line each process wrote, for an error message."""
    tails = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text("utf-8", errors="replace").strip().splitlines()
        if lines:
            tails.append(f"{log.stem}: {lines[-1]}")
    return ("; " + "; ".join(tails)) if tails else ""


def _raw_consumer(redis: Redis, streams: list[str], group: str, total: int) -> float:
    """Events/s of one raw consumer group reading every stream with XREADGROUP COUNT 500 and
    acknowledging with XACK, from a fresh group at 0."""
    for stream in streams:
        ensure_group(redis, stream, group)
    done = 0
    started = time.perf_counter()
    while done < total:
        reply: Any = redis.xreadgroup(group, "bench", dict.fromkeys(streams, ">"), count=500)
        if not reply:
            raise BenchFailed(f"the raw consumer read only {done} of {total} entries")
        for stream, entries in reply:
            ids = [entry for entry, _ in entries]
            redis.xack(stream, group, *ids)
            done += len(ids)
    return total / (time.perf_counter() - started)


def _views(redis: Redis, prefix: str, name: str, count: int) -> ViewStore | PartitionedViews:
    if count == 1:
        return ViewStore(redis, prefix, name)
    return PartitionedViews(redis, prefix, name, count)


def _views_equal_rebuild(redis: Redis, prefix: str, parts: list[Streams]) -> bool:
    """Every stored view's fingerprint, in every partition, equals that of a rebuild from the
    same partition's stream."""
    for name, projection in STORED.items():
        for part in parts:
            store = ViewStore(redis, prefix, name, partition=part.partition)
            live = store.fingerprint()
            rebuilt = rebuild(redis, store, projection, part.events)
            if rebuilt.fingerprint != live:
                return False
    return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
