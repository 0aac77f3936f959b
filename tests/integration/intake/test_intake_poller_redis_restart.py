"""The intake poller (the intake on Redis Cluster, which speaks to one server as well) through
a restart of its Redis that comes back empty: it creates its lost group again and records what
is published next; the outage is one line when Redis goes and one when it is back, never a
traceback."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from services.client import IntakeClient
from services.intake.poller import build_poller
from services.recorder.application import Negotiations
from services.settings import Settings
from tests.factories import body, opening_body
from tests.redis_servers import PrivateRedis
from tests.threads import Background

OUTAGE = 2.0  # seconds: longer than the half second after which an outage is reported


@pytest.mark.slow
def test_the_poller_recreates_its_lost_group_and_records_after_redis_comes_back_empty(
    redis_settings: Settings,
    app: Negotiations,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = redis_settings.model_copy(update={"redis_url": private_redis.url, "prefix": "t"})
    note = body("ContextNoted", {"topic": "Troops", "text": "After the restart."})
    stop = threading.Event()
    polling = Background(build_poller(settings, app, private_redis.url).run, stop)
    polling.start()
    try:
        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(opening_body()).position == 1

        private_redis.kill()
        private_redis.delete_data()
        time.sleep(OUTAGE)
        private_redis.start()

        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(note).position == 2
    finally:
        stop.set()
        polling.outcome(30)

    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == []
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "intake: Redis unavailable" in m]) == 1, caplog.text
    assert len([m for m in messages if "intake: Redis is back" in m]) == 1, caplog.text
    assert len([m for m in messages if "was lost; created it again" in m]) == 1, caplog.text
