"""Smoke runs of ``bench http`` at a tiny size, in both layouts: it serves a real process,
reports positive numbers and leaves no key under its prefix (never a timing assertion)."""

from __future__ import annotations

import math

import pytest
from redis import Redis

from services.bench.http import bench_http


@pytest.mark.parametrize("split", [False, True], ids=["up", "api+relay+project"])
def test_bench_http_reports_rates_and_latencies(redis_url: str, prefix: str, split: bool) -> None:
    lines: list[str] = []
    result = bench_http(
        events=32,
        batches=2,
        reads=100,
        clients=4,
        progress=lines.append,
        split=split,
        redis_url=redis_url,
        prefix=prefix,
    )
    assert set(result) == {
        "http_single",
        "http_batches",
        "http_batch_events",
        "get_p50_ms",
        "get_p99_ms",
        "get_first_max_ms",
        "get_with_first_p99_ms",
        "bare_get_p50_ms",
        "bare_get_p99_ms",
        "direct_single",
        "direct_batch",
    }
    assert all(math.isfinite(v) and v > 0 for v in result.values()), result
    assert any(("talkstream relay" in line) == split for line in lines if "serving" in line)
    client = Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"{prefix}:*")) == []
    finally:
        client.close()


def test_bench_connection_resends_after_the_server_closed_it_idle() -> None:
    """The server's keep-alive may close a connection the bench left idle (the SSE bench opens
    thousands of subscriptions before its first write): the next call goes out again on a new
    connection instead of failing on an empty status line."""
    import asyncio

    from services.bench.http import Connection

    served: list[bytes] = []

    async def answer_once_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        served.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def run() -> list[tuple[int, bytes]]:
        server = await asyncio.start_server(answer_once_then_close, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn = await Connection.open(port, "key")
        try:
            first = await conn.call("GET", "/healthz")
            await asyncio.sleep(0.05)  # the server has closed the connection by now
            second = await conn.call("GET", "/healthz")
        finally:
            conn.close()
            server.close()
        return [first, second]

    assert asyncio.run(run()) == [(200, b"ok"), (200, b"ok")]
    assert len(served) == 2
