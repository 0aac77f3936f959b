"""``talkstream bench sse``: many concurrent ``/v1/subscribe`` streams on one real
``talkstream up`` process, each a raw socket of this process (an httpx client each would
measure the client). For every write it takes the time from the write's 201 to its change
arriving at every subscriber; the baselines, in the same run, are one plain Redis XREAD reader
of the changes stream (when the change exists at all) and a lone subscriber."""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis as AsyncRedis

from services.bench.http import Connection, _check, _server
from services.bench.record import note_body, opening_body
from services.bench.target import bench_redis
from services.runtime.server import raise_open_files_limit
from services.wire.streams import Streams

Progress = Callable[[str], object]
NEGOTIATION = "bench-0"
QUERY = f"?negotiation={NEGOTIATION}&projection=negotiation"  # one change per write
POSITION = re.compile(rb'"position": (\d+)')
OPENING_WAVE = 100  # subscriptions opened at once
ARRIVAL_TIMEOUT = 120.0


class Arrivals:
    """When each position reached how many subscribers; wakes whoever waits for all."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self._seen: dict[int, int] = {}
        self._all: dict[int, asyncio.Future[float]] = {}

    def waiter(self, position: int) -> asyncio.Future[float]:
        return self._all.setdefault(position, asyncio.get_running_loop().create_future())

    def arrived(self, position: int, at: float) -> None:
        count = self._seen.get(position, 0) + 1
        self._seen[position] = count
        if count == self.expected:
            done = self.waiter(position)
            if not done.done():
                done.set_result(at)


class Subscriber:
    """One raw SSE stream; notes the position of every change it receives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, port: int, key: str) -> Subscriber:
        async with asyncio.timeout(ARRIVAL_TIMEOUT):
            return await cls._open(port, key)

    @classmethod
    async def _open(cls, port: int, key: str) -> Subscriber:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /v1/subscribe{QUERY} HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {key}\r\n\r\n".encode()
        )
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"a subscription was refused: {status!r}")
        while await reader.readline() != b"\r\n":
            pass
        await reader.readuntil(b"\n\n")  # the opening comment: the subscription is live
        return cls(reader, writer)

    def follow(self, arrivals: Arrivals) -> None:
        self.task = asyncio.create_task(self._read(arrivals))

    async def _read(self, arrivals: Arrivals) -> None:
        tail = b""
        while chunk := await self.reader.read(65536):
            at = time.perf_counter()
            complete, _, tail = (tail + chunk).rpartition(b"\n\n")
            for match in POSITION.finditer(complete):
                arrivals.arrived(int(match.group(1)), at)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.writer.close()


class RawReader:
    """The baseline: one plain XREAD BLOCK reader of the changes stream."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = AsyncRedis.from_url(redis_url)
        self.stream = Streams(prefix).changes
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    async def follow(self, arrivals: Arrivals) -> None:
        last: Any = await self.redis.xrevrange(self.stream, count=1)
        self.task = asyncio.create_task(self._read(last[0][0] if last else b"0-0", arrivals))

    async def _read(self, last: bytes, arrivals: Arrivals) -> None:
        while not self.stopping:
            reply: Any = await self.redis.xread({self.stream: last}, count=1000, block=1000)
            at = time.perf_counter()
            for entry_id, fields in reply[0][1] if reply else []:
                last = entry_id
                if fields[b"negotiation_id"] == NEGOTIATION.encode() and (
                    fields[b"projection"] == b"negotiation"
                ):
                    arrivals.arrived(int(fields[b"position"]), at)

    async def close(self) -> None:
        """Stops at the end of the current read (at most a second): no cancellation inside
        the Redis client."""
        self.stopping = True
        if self.task is not None:
            await asyncio.wait({self.task}, timeout=10)
        await self.redis.aclose()


def bench_sse(
    *,
    subscribers: int,
    events: int,
    progress: Progress,
    redis_url: str | None = None,
    prefix: str | None = None,
) -> dict[str, float]:
    raise_open_files_limit()
    env = {
        "TALKSTREAM_SSE_MAX_SUBSCRIBERS": str(subscribers + 10),
        "TALKSTREAM_SSE_MAX_PER_KEY": str(subscribers + 10),
        "TALKSTREAM_API_MAX_CONNECTIONS": str(subscribers + 100),
    }
    with (
        tempfile.TemporaryDirectory(prefix="talkstream-bench-") as tmp,
        bench_redis(Path(tmp), redis_url, prefix) as (url, pfx),
        _server(Path(tmp) / "server", url, pfx, progress, split=False, extra_env=env) as served,
    ):
        target = Target(*served, redis_url=url, prefix=pfx, events=events, progress=progress)
        return asyncio.run(_measure(target, subscribers))


@dataclass(frozen=True)
class Target:
    port: int
    key: str
    redis_url: str
    prefix: str
    events: int
    progress: Progress


async def _measure(target: Target, count: int) -> dict[str, float]:
    writer = await Connection.open(target.port, target.key)
    try:
        _check(await writer.call("POST", "/v1/negotiations", opening_body(0)), 201)
        target.progress(f"one subscriber alone, {target.events} writes…")
        lone = await _phase(target, writer, 1, None)
        target.progress(f"opening {count} subscriptions…")
        raw = RawReader(target.redis_url, target.prefix)
        try:
            many = await _phase(target, writer, count, raw)
        finally:
            await raw.close()
    finally:
        writer.close()
    return {
        "subscribers": float(count),
        "all_p50_ms": _cut(many["all"], 49),
        "all_p99_ms": _cut(many["all"], 98),
        "raw_p50_ms": _cut(many["raw"], 49),
        "raw_p99_ms": _cut(many["raw"], 98),
        "lone_p50_ms": _cut(lone["all"], 49),
        "lone_p99_ms": _cut(lone["all"], 98),
    }


async def _phase(
    target: Target, writer: Connection, count: int, raw: RawReader | None
) -> dict[str, list[float]]:
    """Opens ``count`` subscriptions, then writes the events one after another, each once
    the previous one has reached every subscriber; returns seconds from each 201."""
    events = target.events
    subs = await _open_all(target.port, target.key, count)
    arrivals = Arrivals(count)
    raw_arrivals = Arrivals(1)
    for sub in subs:
        sub.follow(arrivals)
    if raw is not None:
        await raw.follow(raw_arrivals)
    target.progress(f"{count} subscribers following; writing {events} events…")
    latencies: dict[str, list[float]] = {"all": [], "raw": []}
    try:
        for n in range(events):
            answer = await writer.call(
                "POST", f"/v1/negotiations/{NEGOTIATION}/events", note_body(0, count * n)
            )
            written = time.perf_counter()
            _check(answer, 201)
            position = int(orjson.loads(answer[1])["position"])
            latencies["all"].append(await _when(arrivals.waiter(position)) - written)
            if raw is not None:
                latencies["raw"].append(await _when(raw_arrivals.waiter(position)) - written)
    finally:
        for sub in subs:
            sub.close()
    return latencies


async def _open_all(port: int, key: str, count: int) -> list[Subscriber]:
    subs: list[Subscriber] = []
    for start in range(0, count, OPENING_WAVE):
        wave = min(OPENING_WAVE, count - start)
        subs += await asyncio.gather(*(Subscriber.open(port, key) for _ in range(wave)))
    return subs


async def _when(arrival: Awaitable[float]) -> float:
    async with asyncio.timeout(ARRIVAL_TIMEOUT):
        return await arrival


def _cut(seconds: list[float], index: int) -> float:
    """The (index+1)th percentile in milliseconds."""
    if len(seconds) == 1:
        return seconds[0] * 1000
    return statistics.quantiles(seconds, n=100, method="inclusive")[index] * 1000
