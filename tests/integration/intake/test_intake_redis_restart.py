"""The intake through a restart of its Redis (a private redis-server that comes back empty: the
consumer group is lost), as the FastStream app and as the poller (the intake on Redis Cluster,
which speaks to one server as well): it creates the group again and records what is published
next; the outage is one line when Redis goes away and one when it is back, never a
traceback."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.client import IntakeClient
from services.intake.app import build_intake
from services.intake.poller import build_poller
from services.recorder.application import Negotiations
from services.settings import Settings
from tests.factories import body, opening_body
from tests.integration.projections.support import running
from tests.redis_servers import PrivateRedis
from tests.threads import Background

# seconds: longer than redis-py's own retries, so the FastStream intake notices; longer than
# the half second after which the poller reports an outage
OUTAGE = {"faststream": 4.0, "poller": 2.0}


@contextmanager
def _intake_running(kind: str, settings: Settings, app: Negotiations, url: str) -> Iterator[None]:
    if kind == "faststream":
        intake, _ = build_intake(settings, app, url)
        with running(intake):
            yield
        return
    stop = threading.Event()
    polling = Background(build_poller(settings, app, url).run, stop)
    polling.start()
    try:
        yield
    finally:
        stop.set()
        polling.outcome(30)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["faststream", "poller"])
def test_the_intake_recreates_its_lost_group_and_records_after_redis_comes_back_empty(
    kind: str,
    redis_settings: Settings,
    app: Negotiations,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = redis_settings.model_copy(update={"redis_url": private_redis.url, "prefix": "t"})
    note = body("ContextNoted", {"topic": "Troops", "text": "After the restart."})
    with _intake_running(kind, settings, app, private_redis.url):
        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(opening_body()).position == 1

        private_redis.kill()
        private_redis.delete_data()
        time.sleep(OUTAGE[kind])
        private_redis.start()

        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(note).position == 2

    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == []
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "intake: Redis unavailable" in m]) == 1, caplog.text
    assert len([m for m in messages if "intake: Redis is back" in m]) == 1, caplog.text
    if kind == "poller":
        assert len([m for m in messages if "was lost; created it again" in m]) == 1, caplog.text
