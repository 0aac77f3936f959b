"""Workers started before their Redis (a deployment's first start, a Redis restarting) wait for
it, saying so in one line, and start their work once it answers, instead of failing."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

from services.settings import Settings
from services.wire.streams import Streams
from tests.processes import TalkstreamProcess, stop_process, talkstream_env
from tests.redis_servers import PrivateRedis
from tests.waiting import wait_for


@pytest.mark.parametrize(("command", "stream"), [("project", "events"), ("intake", "intake")])
def test_a_worker_started_before_its_redis_waits_then_creates_its_groups(
    tmp_path: Path, command: str, stream: str
) -> None:
    redis = PrivateRedis(tmp_path / "redis")  # not started yet
    settings = Settings(home=tmp_path / "home", redis_url=redis.url, prefix="early")
    worker = TalkstreamProcess(command, talkstream_env(settings), tmp_path / f"{command}.log")
    try:
        wait_for(lambda: "waiting for Redis" in worker.output(), 60, "the waiting line")
        assert worker.alive(), worker.tail()
        redis.start()
        client = Redis.from_url(redis.url)
        key = getattr(Streams("early"), stream)
        wait_for(lambda: client.exists(key) == 1, 60, f"{command}'s consumer groups")
        assert client.xinfo_groups(key), worker.tail()
        assert worker.alive() and "answers" in worker.output(), worker.tail()
        client.close()
    finally:
        stop_process(worker.proc)
        redis.stop()
