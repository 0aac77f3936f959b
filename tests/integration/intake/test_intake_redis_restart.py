"""The intake through a restart of its Redis (a private redis-server that comes back empty: the
consumer group is lost): it creates the group again and records what is published next; the
outage is one line when Redis goes away and one when it is back, never a traceback."""

from __future__ import annotations

import logging
import time

import pytest

from services.client import IntakeClient
from services.intake.app import build_intake
from services.recorder.application import Negotiations
from services.settings import Settings
from tests.factories import body, opening_body
from tests.integration.projections.support import running
from tests.redis_servers import PrivateRedis

OUTAGE = 4.0  # seconds: longer than redis-py's own retries, so the intake notices


@pytest.mark.slow
def test_the_intake_recreates_its_lost_group_and_records_after_redis_comes_back_empty(
    redis_settings: Settings,
    app: Negotiations,
    private_redis: PrivateRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = redis_settings.model_copy(update={"redis_url": private_redis.url, "prefix": "t"})
    intake, _ = build_intake(settings, app, private_redis.url)
    note = body("ContextNoted", {"topic": "Troops", "text": "After the restart."})
    with running(intake):
        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(opening_body()).position == 1

        private_redis.kill()
        private_redis.delete_data()
        time.sleep(OUTAGE)
        private_redis.start()

        with IntakeClient(private_redis.url, prefix="t", timeout=30) as client:
            assert client.publish(note).position == 2

    tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]
    assert tracebacks == []
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "intake: Redis unavailable" in m]) == 1, caplog.text
    assert len([m for m in messages if "intake: Redis is back" in m]) == 1, caplog.text
