"""The deliverer lives through a Redis outage: while its Redis is stopped it logs one line and
waits; once Redis is back it delivers the change written meanwhile, after its cursor, signed."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
from redis import Redis
from standardwebhooks import Webhook

from services.hooks.deliverer import Deliverer, Policy
from services.wire.hooks import Hooks
from tests.redis_servers import PrivateRedis

POLICY = Policy(
    timeout=1,
    retry_for=60,
    backoff_initial=0.1,
    backoff_max=0.5,
    poll_interval=0.05,
    allow_private=True,
)


def _change(redis: Redis, position: int) -> None:
    fields = {"negotiation_id": "talks-a", "projection": "negotiation", "position": str(position)}
    redis.xadd("t:changes", fields)  # type: ignore[arg-type]


def test_the_deliverer_waits_out_a_redis_outage_and_delivers_after(
    private_redis: PrivateRedis,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, got = receiver
    redis = Redis.from_url(private_redis.url, socket_timeout=1)
    hooks = Hooks(redis, "t")
    hook = hooks.add(url, allow_private=True)
    deliverer = Deliverer(hooks, httpx.Client(timeout=1), POLICY)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
    caplog.set_level(logging.INFO, logger="talkstream.hooks")
    try:
        _change(redis, 1)
        thread.start()
        _until(lambda: len(got) == 1)
        private_redis.stop()
        time.sleep(0.5)
        assert thread.is_alive()
        private_redis.start()
        _change(redis, 2)
        _until(lambda: len(got) == 2)
    finally:
        stop.set()
        thread.join(timeout=10)
        deliverer.client.close()
        redis.close()
    events = [Webhook(hook.secret).verify(body, headers) for headers, body in got]
    assert [e["data"]["position"] for e in events] == [1, 2]
    outages = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outages) == 1
    assert any("Redis is back" in r.getMessage() for r in caplog.records)


def _until(check: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.05)
