"""The API while the event stream holds another history than the store: `/readyz` answers 503
with `stream_diverged` and the first differing position, `/metrics` exports that position,
writes are still stored and answered 201 but say `Talkstream-Degraded: stream_diverged`;
after the repair all of it is back to normal."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from services.api.app import create_app
from services.api.context import ApiContext
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.runtime.repair import rebuild_stream
from services.settings import Settings
from tests.factories import NID, NOTE, body, note, started
from tests.integration.api.conftest import bearer
from tests.integration.relay.helpers import relay_running
from tests.waiting import wait_for


@pytest.fixture
def api_settings(redis_settings: Settings) -> Settings:
    """The settings' own wait for ``min_position`` (the shared ``ctx`` builds on these)."""
    return redis_settings


def _diverge(ctx: ApiContext, tmp_path: Path) -> None:
    """Puts another store's history on the stream, then lets a relay of ours meet it."""
    other = build_application(Settings(home=tmp_path / "other"))
    other.record_many([*started(NID), note("from another store")], principal="other")
    Relay(other, ctx.redis, stream=ctx.streams.events).catch_up()
    other.close()
    ctx.app.record_many(started(NID), principal="seed")
    relay = Relay(ctx.app, Redis.from_url(str(ctx.settings.redis_url)), stream=ctx.streams.events)
    with relay_running(relay):
        diverged = f"{ctx.streams.events}:diverged"
        wait_for(lambda: ctx.redis.exists(diverged) == 1, 20, "the relay to find the divergence")


def test_a_diverged_stream_degrades_the_api_but_writes_still_store(
    ctx: ApiContext, tmp_path: Path
) -> None:
    _, key = ctx.keys.create(name="pub", role="admin")
    http = TestClient(create_app(ctx), raise_server_exceptions=False)
    _diverge(ctx, tmp_path)

    ready = http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["stream_diverged"]["position"] == 1
    assert ready.json()["degraded"] == ["stream_diverged"]
    assert any(p.startswith("stream_diverged: ") for p in ready.json()["problems"])
    assert "talkstream_stream_diverged_position 1.0" in http.get("/metrics").text
    written = http.post(
        f"/v1/negotiations/{NID}/events", json=body("ContextNoted", NOTE), headers=bearer(key)
    )
    assert written.status_code == 201, written.text
    assert written.headers["Talkstream-Degraded"] == "stream_diverged"
    assert ctx.app.max_position() == written.json()["position"] == 4

    rebuild_stream(ctx.settings)

    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["stream_diverged"] is None
    assert "talkstream_stream_diverged_position 0.0" in http.get("/metrics").text
    again = http.post(
        f"/v1/negotiations/{NID}/events", json=body("ContextNoted", NOTE), headers=bearer(key)
    )
    assert again.status_code == 201, again.text
    assert "Talkstream-Degraded" not in again.headers


def test_a_healthy_api_exports_no_divergence(ctx: ApiContext) -> None:
    http = TestClient(create_app(ctx), raise_server_exceptions=False)
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["stream_diverged"] is None
    assert "talkstream_stream_diverged_position 0.0" in http.get("/metrics").text
