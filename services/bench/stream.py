"""Relay and intake benchmarks, on the configured Redis or an embedded one."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing.synchronize import Barrier
from pathlib import Path

from eventsourcing.persistence import Notification
from redis import Redis

from services.bench.exceptions import BenchFailed
from services.bench.process import running, talkstream_command
from services.bench.record import NEGOTIATIONS, _note, _opening
from services.bench.target import bench_redis, bench_store
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.entries import entry_args, entry_fields, entry_id
from services.wire.streams import Streams, as_fields

Progress = Callable[[str], object]


def bench_relay(events: int, progress: Progress, store: str = "sqlite") -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp)) as (url, prefix),
        bench_store(Path(tmp) / "store", store) as settings,
    ):
        app = build_application(settings)
        app.record_many([_opening(i) for i in range(NEGOTIATIONS)], principal="bench")
        drafts = [_note(n % NEGOTIATIONS, n) for n in range(events)]
        for start in range(0, events, 500):
            app.record_many(drafts[start : start + 500], principal="bench")
        total = app.max_position()
        redis = Redis.from_url(url)
        relay = Relay(app, redis, stream=Streams(prefix).events)
        progress(f"relaying {total} stored events…")
        stop = threading.Event()
        started = time.perf_counter()
        worker = threading.Thread(target=relay.run, args=(stop,))
        worker.start()
        while relay.stats.published < total:
            time.sleep(0.001)
        relay_rate = total / (time.perf_counter() - started)
        stop.set()
        relay.notify()
        worker.join()
        progress("raw pipelined XADD of the same entries…")
        raw_rate = _raw_xadd(app.notifications(), app.body_of, redis, f"{prefix}:raw")
        app.close()
    return {"relay": relay_rate, "raw": raw_rate}


def _raw_xadd(
    notifications: Iterable[Notification],
    body_of: Callable[[Notification], tuple[str, str]],
    redis: Redis,
    stream: str,
) -> float:
    entries = [(n.id, entry_fields(entry_args(n.id, *body_of(n)))) for n in notifications]
    started = time.perf_counter()
    for start in range(0, len(entries), 500):
        pipe = redis.pipeline(transaction=False)
        for position, fields in entries[start : start + 500]:
            pipe.xadd(stream, as_fields(fields), id=entry_id(position))
        pipe.execute()
    return len(entries) / (time.perf_counter() - started)


def _publish(url: str, intake: str, lines: list[str], ready: Barrier | None = None) -> None:
    """Publishes ``lines`` in pipelines of 100; with ``ready``, connected first and then held
    until every publisher (and the clock) is ready, so no process start is timed."""
    redis = Redis.from_url(url)
    redis.ping()
    if ready is not None:
        ready.wait()
    for start in range(0, len(lines), 100):
        pipe = redis.pipeline(transaction=False)
        for line in lines[start : start + 100]:
            pipe.xadd(intake, {"event": line})
        pipe.execute()


def bench_intake(events: int, publishers: int, progress: Progress) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp)) as (url, prefix),
    ):
        streams = Streams(prefix)
        redis = Redis.from_url(url)
        drafts = [_note(n % NEGOTIATIONS, n) for n in range(events)]
        lines = [json.dumps(d.model_dump(mode="json", exclude_none=True)) for d in drafts]
        openings = [
            json.dumps(_opening(i).model_dump(mode="json", exclude_none=True))
            for i in range(NEGOTIATIONS)
        ]
        env = {
            **os.environ,
            "TALKSTREAM_HOME": str(Path(tmp) / "intake"),
            "TALKSTREAM_REDIS_URL": url,
            "TALKSTREAM_PREFIX": prefix,
        }
        log = Path(tmp) / "intake.log"
        with running(talkstream_command("intake"), log, env) as consumer:
            _publish(url, streams.intake, openings)
            _wait_results(redis, streams.intake_results, NEGOTIATIONS, consumer, progress)
            shares = [lines[i::publishers] for i in range(publishers)]
            ctx = multiprocessing.get_context("spawn")
            ready = ctx.Barrier(publishers + 1)
            procs = [
                ctx.Process(target=_publish, args=(url, streams.intake, share, ready))
                for share in shares
            ]
            for p in procs:
                p.start()
            ready.wait(timeout=120)
            progress(f"{publishers} publishers start…")
            started = time.perf_counter()
            _wait_results(redis, streams.intake_results, NEGOTIATIONS + events, consumer, progress)
            intake_rate = events / (time.perf_counter() - started)
            for p in procs:
                p.join()
        progress("the same events recorded in process, one per save…")
        app = build_application(Settings(home=Path(tmp) / "direct"))
        app.record_many([_opening(i) for i in range(NEGOTIATIONS)], principal="bench")
        started = time.perf_counter()
        for draft in drafts:
            app.record(draft, principal="bench")
        direct_rate = events / (time.perf_counter() - started)
        app.close()
    return {"intake": intake_rate, "direct": direct_rate}


def _wait_results(
    redis: Redis,
    stream: str,
    count: int,
    consumer: subprocess.Popen[bytes],
    progress: Progress,
) -> None:
    last_report = time.monotonic()
    deadline = time.monotonic() + 600
    while (done := int(redis.xlen(stream))) < count:
        if consumer.poll() is not None:
            code = consumer.returncode
            raise BenchFailed(
                f"talkstream intake exited with {code} after {done} of {count} results"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done} of {count} intake results after 600 s")
        if time.monotonic() - last_report > 2:
            progress(f"  {done}/{count} recorded")
            last_report = time.monotonic()
        time.sleep(0.02)
