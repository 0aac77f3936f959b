"""A smoke run of ``bench sse`` at a tiny size: it serves a real ``talkstream up``, follows
it with raw subscribers, reports positive figures and leaves no key under its prefix (never a
timing assertion)."""

from __future__ import annotations

import math

from redis import Redis

from services.bench.sse import bench_sse


def test_bench_sse_reports_fan_out_latencies_against_its_baselines(
    redis_url: str, prefix: str
) -> None:
    lines: list[str] = []
    result = bench_sse(
        subscribers=30, events=8, progress=lines.append, redis_url=redis_url, prefix=prefix
    )
    assert set(result) == {
        "subscribers",
        "all_p50_ms",
        "all_p99_ms",
        "raw_p50_ms",
        "raw_p99_ms",
        "lone_p50_ms",
        "lone_p99_ms",
    }
    assert result["subscribers"] == 30
    assert all(math.isfinite(v) for v in result.values()), result
    assert result["all_p99_ms"] >= result["all_p50_ms"] > 0
    assert any("30 subscribers following" in line for line in lines)
    client = Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"{prefix}:*")) == []
    finally:
        client.close()
