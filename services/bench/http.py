"""``talkstream bench http``: the API served by a real ``talkstream up`` process (or, with
``--split``, ``api`` + ``relay`` + ``project`` processes), driven by concurrent keep-alive
clients from this process, against the application's own in-process record rate measured in
the same run."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson

from services.api.keys import KeyRing, Role
from services.bench.process import running, talkstream_command
from services.bench.record import NEGOTIATIONS, _note, _opening, note_body, opening_body
from services.bench.target import bench_redis, bench_store, postgres_env
from services.runtime.bootstrap import build_application
from services.settings import Settings

Progress = Callable[[str], object]
BATCH = 100
START_TIMEOUT = 60.0


def bench_http(
    *,
    events: int,
    batches: int,
    reads: int,
    clients: int,
    progress: Progress,
    split: bool = False,
    redis_url: str | None = None,
    prefix: str | None = None,
    store: str = "sqlite",
) -> dict[str, float]:
    """``split``: ``talkstream api``, ``relay`` and ``project`` as three processes (the
    scale-out layout) instead of one ``talkstream up``. ``store``: both the in-process
    baseline and the server record to a fresh store of that kind."""
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
    ):
        progress("in process: recording one event per call, then batches of 100…")
        with bench_store(Path(tmp) / "direct", store) as direct:
            direct_single, direct_batch = _in_process(direct, events, batches)
        with (
            bench_store(Path(tmp) / "server", store) as served,
            _server(
                Path(tmp) / "server",
                url,
                pfx,
                progress,
                split=split,
                extra_env=postgres_env(served),
            ) as (port, key),
        ):
            result, bodies = asyncio.run(
                _drive(
                    port,
                    key,
                    events=events,
                    batches=batches,
                    reads=reads,
                    clients=clients,
                    progress=progress,
                )
            )
            bare = _bare_reads(Path(tmp), bodies, reads=reads, clients=clients, progress=progress)
    return {**result, **bare, "direct_single": direct_single, "direct_batch": direct_batch}


def _bare_reads(
    tmp: Path, bodies: dict[str, str], *, reads: int, clients: int, progress: Progress
) -> dict[str, float]:
    """The same reads, by the same clients, of a bare Starlette route serving the bytes the
    API answered (``services/bench/bare.py``), while the API's process still runs idle."""
    path = tmp / "bare" / "bodies.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(bodies))
    port = _free_port()
    command = [sys.executable, "-m", "services.bench.bare", str(port), str(path)]
    with running(command, tmp / "bare" / "route.log") as process:
        _wait_healthy(f"http://127.0.0.1:{port}", process)
        progress(f"{clients} clients reading the same bytes from a bare Starlette route…")
        cuts = asyncio.run(_reads(port, "", reads=reads, clients=clients))
    return {"bare_get_p50_ms": cuts[49] * 1000, "bare_get_p99_ms": cuts[98] * 1000}


async def _reads(port: int, key: str, *, reads: int, clients: int) -> list[float]:
    """Percentile cuts (seconds) of ``reads`` GETs of ``bench-<client>`` over ``clients``,
    after one untimed read by each (as the API's reads follow one first read each)."""
    conns = [await Connection.open(port, key) for _ in range(clients)]
    latencies: list[float] = []
    try:
        await _spread(conns, clients, lambda conn, c, n: _get(conn, c, []))
        await _spread(conns, reads, lambda conn, c, n: _get(conn, c, latencies))
    finally:
        for conn in conns:
            conn.close()
    return statistics.quantiles(latencies, n=100)


def _in_process(settings: Settings, events: int, batches: int) -> tuple[float, float]:
    app = build_application(settings)
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
    home: Path,
    redis_url: str,
    prefix: str,
    progress: Progress,
    *,
    split: bool,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[tuple[int, str]]:
    """The system on a free port with limits lifted for the load (and ``extra_env``);
    yields port and key."""
    _, key = KeyRing(home / "keys.json").create(name="bench", role=Role.admin)
    port = _free_port()
    env = {
        **os.environ,
        "TALKSTREAM_HOME": str(home),
        "TALKSTREAM_REDIS_URL": redis_url,
        "TALKSTREAM_PREFIX": prefix,
        "TALKSTREAM_API_RATE_PER_SECOND": "1000000",
        "TALKSTREAM_API_RATE_BURST": "1000000",
        **(extra_env or {}),
    }
    commands = [["api" if split else "up", "--port", str(port)]]
    commands += [["relay"], ["project"]] if split else []
    base = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        processes = [
            stack.enter_context(running(talkstream_command(*c), home / f"{c[0]}.log", env))
            for c in commands
        ]
        _wait_healthy(base, processes[0])
        progress(f"serving {base}: " + " + ".join(f"talkstream {c[0]}" for c in commands))
        yield port, key


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API process exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the API did not answer within {START_TIMEOUT:.0f} s")


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just what the bench needs (JSON bodies,
    Content-Length answers). httpx's own per-request work in this process capped the load at
    about 430 requests/s (measured on /healthz), so it would have measured the client."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, key: str
    ) -> None:
        self.reader, self.writer, self.port = reader, writer, port
        self.auth = f"Authorization: Bearer {key}\r\n".encode()

    @classmethod
    async def open(cls, port: int, key: str) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port, key)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = b"" if body is None else orjson.dumps(body)
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(data)}\r\n"
        kind = b"Content-Type: application/json\r\n" if body is not None else b""
        request = head.encode() + self.auth + kind + b"\r\n" + data
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            # The server closed a connection left idle past its keep-alive (the SSE bench
            # opens thousands of subscriptions first): it never read this request, so send
            # it again on a new connection.
            await self._reopen()
            self.writer.write(request)
            status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def _reopen(self) -> None:
        self.writer.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        self.writer.close()


async def _drive(
    port: int,
    key: str,
    *,
    events: int,
    batches: int,
    reads: int,
    clients: int,
    progress: Progress,
) -> tuple[dict[str, float], dict[str, str]]:
    """The rates and GET latencies, and the body each client's negotiation was read as."""
    conns = [await Connection.open(port, key) for _ in range(clients)]
    try:
        for i, conn in enumerate(conns):
            _check(await conn.call("POST", "/v1/negotiations", opening_body(i)), 201)
        progress(f"{clients} clients posting {events} single events…")
        single = await _spread(conns, events, _post_one)
        progress(f"{clients} clients posting {batches} batches of {BATCH}…")
        batch = await _spread(conns, batches, _post_batch)
        progress("waiting for the views to apply every write…")
        await _caught_up(conns[0])
        progress(f"{clients} clients reading their negotiation once (its first rendering)…")
        first: list[float] = []
        await _spread(conns, clients, lambda conn, c, n: _get(conn, c, first))
        progress(f"{clients} clients reading a negotiation {reads} times…")
        latencies: list[float] = []
        await _spread(conns, reads, lambda conn, c, n: _get(conn, c, latencies))
        bodies = {}
        for c, conn in enumerate(conns):
            status, body = await conn.call("GET", f"/v1/negotiations/bench-{c}")
            _check((status, body), 200)
            bodies[f"bench-{c}"] = body.decode()
    finally:
        for conn in conns:
            conn.close()
    cuts = statistics.quantiles(latencies, n=100)
    with_first = statistics.quantiles(first + latencies, n=100)
    return {
        "http_single": events / single,
        "http_batches": batches / batch,
        "http_batch_events": batches * BATCH / batch,
        "get_p50_ms": cuts[49] * 1000,
        "get_p99_ms": cuts[98] * 1000,
        "get_first_max_ms": max(first) * 1000,
        "get_with_first_p99_ms": with_first[98] * 1000,
    }, bodies


async def _caught_up(conn: Connection) -> None:
    """Returns once /readyz reports the stream and every view at the store's position."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready = orjson.loads((await conn.call("GET", "/readyz"))[1])
        if ready["stream_position"] == ready["store_position"] and all(
            at == ready["stream_position"] for at in ready["projections"].values()
        ):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the views did not catch up within 600 s")


Call = Callable[[Connection, int, int], Awaitable[None]]


async def _spread(conns: list[Connection], total: int, call: Call) -> float:
    """Runs ``total`` calls over the connections concurrently; returns the seconds taken."""

    async def worker(c: int) -> None:
        for n in range(c, total, len(conns)):
            await call(conns[c], c, n)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in range(len(conns))))
    return time.perf_counter() - started


async def _post_one(conn: Connection, c: int, n: int) -> None:
    _check(await conn.call("POST", f"/v1/negotiations/bench-{c}/events", note_body(c, n)), 201)


async def _post_batch(conn: Connection, c: int, n: int) -> None:
    events = [note_body(c, n * BATCH + k) for k in range(BATCH)]
    answer = await conn.call("POST", "/v1/events:batch", {"events": events})
    _check(answer, 200)
    if orjson.loads(answer[1])["recorded"] != BATCH:
        raise RuntimeError(f"a batch was partly refused: {answer[1][:300]!r}")


async def _get(conn: Connection, c: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    _check(await conn.call("GET", f"/v1/negotiations/bench-{c}"), 200)
    latencies.append(time.perf_counter() - started)


def _check(answer: tuple[int, bytes], status: int) -> None:
    if answer[0] != status:
        raise RuntimeError(f"expected {status}, got {answer[0]}: {answer[1][:300]!r}")
