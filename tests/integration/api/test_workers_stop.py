"""The workers beside the API stop within their bound even when a part of them hangs: a
shutdown goes on without a part that outlives its time, and says so in one line."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.api.context import ApiContext
from services.runtime import server
from services.runtime.server import workers_for


def test_workers_stop_within_their_bound_when_the_subscribers_hang(
    ctx: ApiContext,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(server, "STOP_SECONDS", 0.5)
    workers = workers_for(ctx, redis_url)
    stop_subscribers = workers.streams.stop

    async def hanging() -> None:
        await stop_subscribers()
        await asyncio.sleep(3600)  # a subscriber that never lets go

    monkeypatch.setattr(workers.streams, "stop", hanging)

    async def run() -> None:
        async with workers.running():
            pass

    with caplog.at_level(logging.WARNING, logger="talkstream.api"):
        asyncio.run(asyncio.wait_for(run(), 60))  # TimeoutError here: the shutdown hung
    assert "did not stop within 0.5 s" in caplog.text
