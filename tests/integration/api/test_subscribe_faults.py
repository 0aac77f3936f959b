"""``GET /v1/subscribe`` through faults: a subscriber that stops reading is dropped without
holding the others back, a Redis outage reaches subscribers as comments and the log as one
line when it goes and one when it is back, and open subscriptions end cleanly when the server
stops (an API without workers, its changes stream fed by hand)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
from redis import Redis

from tests.integration.api.conftest import Served, served_api
from tests.integration.api.raw_sse import RawSubscriber
from tests.redis_servers import PrivateRedis


def _add_change(url: str, stream: str, nid: str) -> str:
    client = Redis.from_url(url)
    try:
        fields = {"negotiation_id": nid, "projection": "negotiation", "position": "7"}
        return bytes(client.xadd(stream, fields)).decode()  # type: ignore[arg-type]
    finally:
        client.close()


async def _subscribe(served: Served, role: str) -> RawSubscriber:
    return await RawSubscriber.open(served.port, served.keys[role])


def test_a_subscriber_that_stops_reading_is_dropped_and_the_others_get_everything(
    tmp_path: Path, redis_url: str
) -> None:
    """Changes come in bursts of 100 (about 12 MB in all, more than the socket buffers
    hold): the subscriber that reads everything gets everything in order; the one that reads
    nothing falls more than its queue behind, is dropped from the feed and disconnected."""
    bursts, burst, pad = 30, 100, "x" * 4000

    async def follow(served: Served) -> None:
        stalled = await RawSubscriber.open(served.port, served.keys["reader"], receive_buffer=4096)
        reader = await _subscribe(served, "reader")
        await asyncio.gather(stalled.frame(), reader.frame())
        written: list[str] = []
        for _ in range(bursts):
            written += await asyncio.to_thread(_add_changes, redis_url, served, burst, pad)
            got = [(await reader.change(timeout=60)).id for _ in range(burst)]
            assert got == written[-burst:]
        deadline = time.monotonic() + 60
        while len(served.server.server_state.connections) > 1:
            assert time.monotonic() < deadline, "the stalled subscriber was never disconnected"
            await asyncio.sleep(0.1)
        assert served.ctx.feed.fanout.count == 1
        try:
            while True:
                await stalled.frame(timeout=30)
        except EOFError:
            pass
        reader.close()

    with served_api(
        tmp_path / "home", redis_url, workers=False, sse_queue=200, api_send_timeout=1.0
    ) as served:
        asyncio.run(follow(served))


def _add_changes(url: str, served: Served, count: int, pad: str) -> list[str]:
    client = Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            fields = {"negotiation_id": "busy", "projection": "negotiation", "position": n}
            pipe.xadd(served.ctx.streams.changes, {**fields, "pad": pad})
        return [bytes(i).decode() for i in pipe.execute()]
    finally:
        client.close()


async def _comments_until(sub: RawSubscriber, word: str) -> list[str]:
    seen: list[str] = []
    while not any(word in c for c in seen):
        seen += (await sub.frame(timeout=30)).comments
    return seen


def test_a_redis_outage_is_one_log_line_each_way_and_a_comment_to_subscribers(
    tmp_path: Path, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="talkstream")
    url = private_redis.url

    async def follow(served: Served) -> None:
        stream = served.ctx.streams.changes
        sub = await _subscribe(served, "reader")
        assert sub.status == 200
        try:
            before = await asyncio.to_thread(
                _add_change, private_redis.url, stream, "before-outage"
            )
            assert (await sub.change()).id == before
            private_redis.kill()
            assert any("Redis" in c for c in await _comments_until(sub, "unavailable"))
            await asyncio.sleep(3)  # the reader keeps retrying meanwhile
            await asyncio.to_thread(private_redis.start)
            await _comments_until(sub, "back")
            after = await asyncio.to_thread(_add_change, url, stream, "after-outage")
            change = await sub.change()
            assert change.id == after and change.data["negotiation_id"] == "after-outage"
        finally:
            sub.close()

    with served_api(tmp_path / "home", url, workers=False) as served:
        asyncio.run(follow(served))
    mine = [r for r in caplog.records if r.name == "talkstream.api.subscribe"]
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert len([r for r in mine if "unavailable" in r.getMessage()]) == 1
    assert len([r for r in mine if "back" in r.getMessage()]) == 1


def test_open_subscriptions_end_cleanly_when_the_server_stops(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def follow_until_stopped() -> list[list[str]]:
        with served_api(tmp_path / "home", redis_url, workers=False) as served:
            subs = [await _subscribe(served, "reader") for _ in range(3)]
            await asyncio.gather(*(s.frame() for s in subs))
            served.stop()
            endings = await asyncio.gather(*(_until_the_end(s) for s in subs))
        return endings

    endings = asyncio.run(follow_until_stopped())
    for comments in endings:
        assert any("shutting down" in c for c in comments)
    problems = [
        f"{r.name} {r.levelname} {r.getMessage()[:120]}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]
    assert problems == []


async def _until_the_end(sub: RawSubscriber) -> list[str]:
    """Comments up to the end of the stream (which the server must end)."""
    comments: list[str] = []
    try:
        while True:
            comments += (await sub.frame(timeout=60)).comments
    except EOFError:
        return comments
    finally:
        sub.close()
