"""A store that another process holds locked (SQLite's exclusive lock) is a 503
``store_unavailable`` once the lock wait runs out, not a 500; the next write after the lock
is released is recorded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.context import ApiContext
from services.recorder.application import Negotiations
from services.recorder.store import eventsourcing_env
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from tests.factories import NID, SETUP
from tests.integration.api.conftest import bearer


@pytest.fixture
def impatient(redis_settings: Settings, redis_url: str) -> Iterator[ApiContext]:
    """The API on an SQLite store that waits one second for a lock."""
    env = eventsourcing_env(redis_settings) | {"SQLITE_LOCK_TIMEOUT": "1"}
    ctx = build_api_context(redis_settings, redis_url, Negotiations(env=env))
    yield ctx
    ctx.app.close()
    ctx.redis.close()


def test_a_store_locked_by_another_process_answers_503_then_records(
    impatient: ApiContext, redis_settings: Settings
) -> None:
    _, key = impatient.keys.create(name="pub", role="publisher")
    with TestClient(create_app(impatient), raise_server_exceptions=False) as http:
        assert http.post("/v1/negotiations", json=SETUP[0], headers=bearer(key)).status_code == 201
        locker = sqlite3.connect(redis_settings.events_db, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            refused = http.post(
                f"/v1/negotiations/{NID}/events", json=SETUP[1], headers=bearer(key)
            )
            ready = http.get("/readyz")
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "store_unavailable"
        assert "locked" in refused.json()["error"]["message"]
        assert ready.status_code == 503 and ready.json()["problems"][0].startswith("store: ")
        again = http.post(f"/v1/negotiations/{NID}/events", json=SETUP[1], headers=bearer(key))
        assert again.status_code == 201, again.text
        assert again.json()["version"] == 2 and impatient.app.max_position() == 2
