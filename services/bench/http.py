"""``talkstream bench http``: the API served by a real ``talkstream up`` process, driven by
concurrent HTTP clients from this process, against the application's own in-process record
rate measured in the same run."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.api.keys import KeyRing, Role
from services.bench.record import NEGOTIATIONS, _note, _opening, note_body, opening_body
from services.bench.target import bench_redis
from services.bootstrap import build_application
from services.runtime.settings import Settings

Progress = Callable[[str], object]
BATCH = 100
START_TIMEOUT = 60.0


def bench_http(
    *, events: int, batches: int, reads: int, clients: int, progress: Progress
) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp)) as (url, prefix),
    ):
        progress("in process: recording one event per call, then batches of 100…")
        direct_single, direct_batch = _in_process(Path(tmp) / "direct", events, batches)
        with _server(Path(tmp) / "server", url, prefix, progress) as (base, key):
            result = asyncio.run(
                _drive(
                    base,
                    key,
                    events=events,
                    batches=batches,
                    reads=reads,
                    clients=clients,
                    progress=progress,
                )
            )
    return {**result, "direct_single": direct_single, "direct_batch": direct_batch}


def _in_process(home: Path, events: int, batches: int) -> tuple[float, float]:
    app = build_application(Settings(home=home, store="sqlite"))
    try:
        app.record_many([_opening(i) for i in range(NEGOTIATIONS)], principal="bench")
        singles = [_note(n % NEGOTIATIONS, n) for n in range(events)]
        started = time.perf_counter()
        for draft in singles:
            app.record(draft, principal="bench")
        single = events / (time.perf_counter() - started)
        groups = [
            [_note(b % NEGOTIATIONS, b * BATCH + n) for n in range(BATCH)] for b in range(batches)
        ]
        started = time.perf_counter()
        for group in groups:
            app.record_many(group, principal="bench")
        batch = batches * BATCH / (time.perf_counter() - started)
    finally:
        app.close()
    return single, batch


@contextmanager
def _server(
    home: Path, redis_url: str, prefix: str, progress: Progress
) -> Iterator[tuple[str, str]]:
    """``talkstream up`` on a free port with limits lifted for the load; yields URL and key."""
    _, key = KeyRing(home / "keys.json").create(name="bench", role=Role.admin)
    port = _free_port()
    env = {
        **os.environ,
        "TALKSTREAM_HOME": str(home),
        "TALKSTREAM_REDIS_URL": redis_url,
        "TALKSTREAM_PREFIX": prefix,
        "TALKSTREAM_API_RATE_PER_SECOND": "1000000",
        "TALKSTREAM_API_RATE_BURST": "1000000",
    }
    script = str(Path(sys.executable).parent / "talkstream")
    process = subprocess.Popen(
        [script, "up", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        progress(f"talkstream up is serving {base}")
        yield base, key
    finally:
        process.terminate()
        process.wait(timeout=60)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"talkstream up exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"talkstream up did not answer within {START_TIMEOUT:.0f} s")


async def _drive(
    base: str,
    key: str,
    *,
    events: int,
    batches: int,
    reads: int,
    clients: int,
    progress: Progress,
) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        for i in range(clients):
            _check(await client.post("/v1/negotiations", json=opening_body(i)), 201)
        progress(f"{clients} clients posting {events} single events…")
        single = await _spread(clients, events, lambda c, n: _post_one(client, c, n))
        progress(f"{clients} clients posting {batches} batches of {BATCH}…")
        batch = await _spread(clients, batches, lambda c, n: _post_batch(client, c, n))
        progress("waiting for the views to apply every write…")
        await _caught_up(client, clients)
        progress(f"{clients} clients reading a negotiation {reads} times…")
        latencies: list[float] = []
        await _spread(clients, reads, lambda c, n: _get(client, c, latencies))
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "http_single": events / single,
        "http_batches": batches / batch,
        "http_batch_events": batches * BATCH / batch,
        "get_p50_ms": cuts[49] * 1000,
        "get_p99_ms": cuts[98] * 1000,
    }


async def _caught_up(client: httpx.AsyncClient, clients: int) -> None:
    """Returns once /readyz reports every view at the stream's position."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready = (await client.get("/readyz")).json()
        if ready["stream_position"] == ready["store_position"] and all(
            at == ready["stream_position"] for at in ready["projections"].values()
        ):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the views did not catch up within 600 s")


async def _spread(clients: int, total: int, call: Callable[[int, int], Any]) -> float:
    """Runs ``total`` calls over ``clients`` concurrent workers; returns the seconds taken."""

    async def worker(c: int) -> None:
        for n in range(c, total, clients):
            await call(c, n)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in range(clients)))
    return time.perf_counter() - started


async def _post_one(client: httpx.AsyncClient, c: int, n: int) -> None:
    _check(await client.post(f"/v1/negotiations/bench-{c}/events", json=note_body(c, n)), 201)


async def _post_batch(client: httpx.AsyncClient, c: int, n: int) -> None:
    events = [note_body(c, n * BATCH + k) for k in range(BATCH)]
    answer = await client.post("/v1/events:batch", json={"events": events})
    _check(answer, 200)
    if answer.json()["recorded"] != BATCH:
        raise RuntimeError(f"a batch was partly refused: {answer.text[:300]}")


async def _get(client: httpx.AsyncClient, c: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    _check(await client.get(f"/v1/negotiations/bench-{c}"), 200)
    latencies.append(time.perf_counter() - started)


def _check(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.text[:300]}"
        )
