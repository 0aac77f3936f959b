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
