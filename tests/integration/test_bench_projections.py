"""Smoke runs of the projection benchmarks at a tiny size: they finish, report positive
numbers and leave no key under their prefix (never a timing assertion)."""

from __future__ import annotations

import math

import pytest
from redis import Redis

from projections.live.apply import EntryReader
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import STORED
from services.bench.projections import (
    _generate,
    bench_latency,
    bench_project,
    bench_rebuild,
    fold_in_memory,
)
from services.wire.streams import Streams


def _numbers(result: dict[str, float], positive: set[str]) -> None:
    """Every value a finite float, none negative; those in ``positive`` above 0."""
    assert positive <= result.keys()
    for key, value in result.items():
        assert isinstance(value, float), key
        assert math.isfinite(value), key
        assert value > 0 if key in positive else value >= 0, key


def _keys(redis_url: str, prefix: str) -> list[bytes]:
    client = Redis.from_url(redis_url)
    try:
        return list(client.scan_iter(match=f"{prefix}:*", count=1000))
    finally:
        client.close()


def test_project(redis_url: str, prefix: str) -> None:
    lines: list[str] = []
    result = bench_project(300, lines.append, redis_url=redis_url, prefix=prefix)
    _numbers(
        result,
        {"projections", "fold_alone", "raw", "raw_per_view", "faststream", "stored"},
    )
    assert "redis_cpu_us" in result
    assert any(line.startswith("  negotiation:") for line in lines)
    assert any("shared reads" in line for line in lines)
    assert _keys(redis_url, prefix) == []


def test_rebuild(redis_url: str, prefix: str) -> None:
    result = bench_rebuild(300, lambda _: None, redis_url=redis_url, prefix=prefix, workers=2)
    assert result["workers"] == 2
    _numbers(
        result,
        {
            "rebuild",
            "fold_alone",
            "raw",
            "workers",
            "passes",
            "peak_rss_mb",
            "workers_peak_rss_mb",
            "stream_bytes_per_event",
            "views_bytes_per_event",
        },
    )
    assert _keys(redis_url, prefix) == []


@pytest.mark.parametrize("writers", [1, 4])
def test_latency(redis_url: str, prefix: str, writers: int) -> None:
    result = bench_latency(
        200, 1.0, lambda _: None, redis_url=redis_url, prefix=prefix, writers=writers
    )
    _numbers(result, {"rate"})
    assert {"p50_ms", "p99_ms", "max_ms"} <= result.keys()
    assert result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert _keys(redis_url, prefix) == []


def test_the_fold_alone_folds_the_states_a_rebuild_stores(redis_url: str, prefix: str) -> None:
    """The ceiling the benches print measures the views' own work: its in-memory fold gives
    the very states a rebuild of the same stream writes."""
    redis = Redis.from_url(redis_url)
    stream = Streams(prefix).events
    try:
        _generate(redis, stream, 400, lambda _: None)
        store = ViewStore(redis, prefix, "negotiation")
        done = rebuild(redis, store, STORED["negotiation"], stream, workers=1)
        entries = EntryReader(redis, stream).after(0, count=1000)
        folded = fold_in_memory(entries, {"negotiation": STORED["negotiation"]})
        stored = store.load(done.generation, store.negotiation_ids(done.generation))
        assert len(stored) > 1
        assert {nid: state for (_, nid), state in folded.items()} == stored
    finally:
        for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            redis.delete(key)
        redis.close()
