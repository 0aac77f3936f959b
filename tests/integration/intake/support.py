"""Helpers for the intake's integration tests: write entries, run the consumer in-process
until a condition holds, and read what it left in Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from redis import Redis

from services.intake.app import build_intake
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.streams import Streams
from tests.unit.intake.entry_cases import Fields


def xadd_all(redis: Redis, stream: str, entries: Sequence[Fields]) -> list[str]:
    """XADDs the entries in order (pipelined); returns their entry IDs."""
    ids: list[str] = []
    for start in range(0, len(entries), 500):
        pipe = redis.pipeline(transaction=False)
        for fields in entries[start : start + 500]:
            pipe.xadd(stream, dict(fields))
        ids.extend(i.decode() for i in pipe.execute())
    return ids


def pending(redis: Redis, streams: Streams) -> int:
    return int(redis.xpending(streams.intake, streams.intake_group)["pending"])


def read_stream(redis: Redis, stream: str) -> list[dict[str, str]]:
    """Every entry of ``stream`` with its fields as text."""
    return [
        {k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
        for _, fields in redis.xrange(stream)
    ]


def settled(redis: Redis, streams: Streams, results: int, stream: str | None = None) -> bool:
    """``results`` outcomes written (to ``stream``, default the results stream) and nothing
    pending."""
    written = redis.xlen(stream or streams.intake_results)
    return written >= results and pending(redis, streams) == 0


def run_intake_until(
    settings: Settings,
    app: Negotiations,
    done: Callable[[], bool],
    *,
    timeout: float = 30.0,
) -> float:
    """Runs the real FastStream intake in this process until ``done()``; returns the seconds
    it took. The app's startup hook creates the consumer group (the test does not)."""
    assert settings.redis_url

    async def main() -> float:
        faststream_app, _ = build_intake(settings, app, settings.redis_url or "")
        started = time.monotonic()
        async with faststream_app:
            while not await asyncio.to_thread(done):
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"the intake did not settle within {timeout} s")
                await asyncio.sleep(0.05)
        return time.monotonic() - started

    return asyncio.run(main())
