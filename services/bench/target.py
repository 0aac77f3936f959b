"""The Redis a benchmark runs against: the configured one or an embedded one, under a fresh
key prefix whose keys are all deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from services.runtime.redis_server import redis_for
from services.settings import Settings, load_settings


@contextmanager
def bench_redis(
    tmp: Path, redis_url: str | None = None, prefix: str | None = None
) -> Iterator[tuple[str, str]]:
    prefix = prefix or f"bench-{uuid.uuid4().hex[:8]}"
    configured = redis_url or load_settings().redis_url
    with redis_for(Settings(home=tmp / "redis-home", redis_url=configured)) as url:
        try:
            yield url, prefix
        finally:
            delete_prefix(url, prefix)


def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.unlink(*keys[start : start + 500])
    client.close()
