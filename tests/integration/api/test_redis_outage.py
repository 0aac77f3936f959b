"""The API while its Redis (a private redis-server) is down and after it is back: reads, /readyz
and /metrics answer clearly meanwhile (503 ``redis_unavailable``, not ready, levels unreadable),
serve again once Redis is back with no restart, and the outage is one log line when Redis goes
away and one when it is back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.context import ApiContext
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from tests.factories import opening_body
from tests.integration.api.conftest import bearer, catch_up, role_keys
from tests.redis_servers import PrivateRedis
from tests.waiting import wait_for

NID = "talks-a"


@pytest.fixture
def private_ctx(api_settings: Settings, private_redis: PrivateRedis) -> Iterator[ApiContext]:
    settings = api_settings.model_copy(update={"redis_url": private_redis.url, "prefix": "t"})
    ctx = build_api_context(settings, private_redis.url)
    yield ctx
    ctx.app.close()
    ctx.redis.close()


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


@pytest.mark.slow
def test_reads_answer_503_while_redis_is_down_and_serve_again_when_it_is_back(
    private_ctx: ApiContext, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    keys = role_keys(private_ctx)
    with TestClient(create_app(private_ctx), raise_server_exceptions=False) as http:
        opened = http.post("/v1/negotiations", json=opening_body(), headers=bearer(keys["admin"]))
        assert opened.status_code == 201, opened.text
        catch_up(private_ctx)
        read = lambda: http.get(f"/v1/negotiations/{NID}", headers=bearer(keys["reader"]))  # noqa: E731
        assert read().status_code == 200

        private_redis.kill()
        for _ in range(3):
            down = read()
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "redis_unavailable"
        not_ready = http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["degraded"] == ["redis_unavailable"]  # writes still stored
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert "talkstream_levels_readable 0.0" in metrics.text

        private_redis.start()
        wait_for(lambda: read().status_code == 200, 30, "reads to serve again")
        wait_for(lambda: bool(_messages(caplog, "api: Redis is back")), 30, "the recovery line")
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["degraded"] == []

    assert len(_messages(caplog, "api: Redis unavailable")) == 1, caplog.text
    assert len(_messages(caplog, "api: Redis is back")) == 1, caplog.text
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
