"""Limits (rate, body size, anonymous reads) and the operations paths (readiness, metrics)
of the in-process app on real SQLite and Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from events import parse_draft
from services.api.app import create_app
from services.api.context import ApiContext
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from tests.factories import NID, SETUP
from tests.integration.api.conftest import bearer, catch_up

Build = Callable[..., tuple[ApiContext, TestClient]]


@pytest.fixture
def app_with(redis_settings: Settings, redis_url: str) -> Iterator[Build]:
    made: list[ApiContext] = []

    def build(**changes: object) -> tuple[ApiContext, TestClient]:
        ctx = build_api_context(redis_settings.model_copy(update=changes), redis_url)
        made.append(ctx)
        return ctx, TestClient(create_app(ctx), raise_server_exceptions=False)

    yield build
    for ctx in made:
        ctx.app.close()
        ctx.redis.close()


def test_past_the_burst_a_key_gets_429_with_retry_after(app_with: Build) -> None:
    ctx, http = app_with(api_rate_per_second=0.2, api_rate_burst=2)
    _, key = ctx.keys.create(name="eager", role="reader")
    statuses = [http.get("/v1/negotiations", headers=bearer(key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = http.get("/v1/negotiations", headers=bearer(key))
    assert refused.headers["Retry-After"] == "5"
    assert refused.json()["error"]["code"] == "rate_limited"


def test_a_streamed_body_over_the_cap_is_413_and_stores_nothing(app_with: Build) -> None:
    ctx, http = app_with(api_max_body=4096)
    _, key = ctx.keys.create(name="pub", role="publisher")

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "NegotiationOpened", "pad": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    answer = http.post(
        "/v1/negotiations",
        content=chunks(),
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["details"] == {"max_bytes": 4096}
    assert ctx.app.max_position() == 0


def test_anonymous_reads_only_on_loopback_and_only_when_allowed(app_with: Build) -> None:
    ctx, open_http = app_with(anonymous_reads=True, host="127.0.0.1")
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    assert open_http.get(f"/v1/negotiations/{NID}").status_code == 200
    assert open_http.post("/v1/negotiations", json=SETUP[0]).status_code == 401
    assert open_http.get("/v1/audit/verify").status_code == 401
    _, exposed = app_with(anonymous_reads=True, host="0.0.0.0")
    assert exposed.get("/v1/negotiations").status_code == 401
    _, closed = app_with(anonymous_reads=False, host="127.0.0.1")
    assert closed.get("/v1/negotiations").status_code == 401


def test_readiness_names_what_lags_until_relay_and_views_catch_up(app_with: Build) -> None:
    ctx, http = app_with(api_ready_max_lag=0)
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    behind = http.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["ready"] is False
    assert any(p.startswith("relay") for p in behind.json()["problems"])
    catch_up(ctx)
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["projections"] == dict.fromkeys(ready.json()["projections"], len(SETUP))


def test_readiness_is_503_when_redis_cannot_be_reached(redis_settings: Settings) -> None:
    ctx = build_api_context(redis_settings, "redis://127.0.0.1:1/0")
    try:
        answer = TestClient(create_app(ctx)).get("/readyz")
    finally:
        ctx.app.close()
    assert answer.status_code == 503
    assert "unreachable" in answer.json()["problems"][0]
    assert TestClient(create_app(ctx)).get("/healthz").json() == {"status": "ok"}


def test_metrics_count_requests_and_report_lags_and_dead_letters(app_with: Build) -> None:
    ctx, http = app_with()
    _, key = ctx.keys.create(name="pub", role="publisher")
    for event in SETUP:
        assert (
            http.post(
                f"/v1/negotiations/{NID}/events"
                if event["type"] != "NegotiationOpened"
                else "/v1/negotiations",
                json=event,
                headers=bearer(key),
            ).status_code
            == 201
        )
    ctx.redis.xadd(ctx.streams.intake_dead, {"error_code": "invalid_json"})
    text = http.get("/metrics").text
    n = len(SETUP)
    route = "/v1/negotiations/{negotiation_id}/events"
    counted = f'talkstream_http_requests_total{{method="POST",route="{route}",status="201"}}'
    assert f"{counted} {n - 1}.0" in text
    assert "talkstream_http_request_seconds_bucket" in text
    assert f"talkstream_http_events_written_total {n}.0" in text
    assert f"talkstream_events_recorded {n}.0" in text
    assert f"talkstream_relay_lag_events {n}.0" in text
    assert 'talkstream_projection_lag_events{projection="audit"} 0.0' in text
    assert 'talkstream_dead_letters{where="intake"} 1.0' in text
    catch_up(ctx)
    after = http.get("/metrics").text
    assert "talkstream_relay_lag_events 0.0" in after


def test_metrics_say_when_the_levels_cannot_be_read(redis_settings: Settings) -> None:
    ctx = build_api_context(redis_settings, "redis://127.0.0.1:1/0")
    try:
        text = TestClient(create_app(ctx)).get("/metrics").text
    finally:
        ctx.app.close()
    assert "talkstream_levels_readable 0.0" in text


def test_metrics_count_the_point_in_time_cache_hits_misses_and_evictions(
    app_with: Build,
) -> None:
    ctx, http = app_with(asof_cache_mb=0.001)  # about 1 KB: every negotiation's events evict
    _, key = ctx.keys.create(name="pub", role="publisher")
    _, reader = ctx.keys.create(name="reader", role="reader")
    for event in SETUP:
        path = "/v1/negotiations" if event["type"] == "NegotiationOpened" else None
        http.post(path or f"/v1/negotiations/{NID}/events", json=event, headers=bearer(key))
    asked = [
        http.get(f"/v1/negotiations/{NID}?as_of=2024-12", headers=bearer(reader)) for _ in "ab"
    ]
    assert [a.status_code for a in asked] == [200, 200]
    assert asked[0].json() == asked[1].json()
    text = http.get("/metrics").text
    assert "talkstream_asof_cache_misses_total 2.0" in text  # nothing stayed to be hit
    assert "talkstream_asof_cache_hits_total 0.0" in text
    assert "talkstream_asof_cache_evictions_total 0.0" not in text
    assert "talkstream_asof_cache_limit_bytes 1048.0" in text


def test_metrics_count_a_repeated_point_in_time_question_as_a_hit(app_with: Build) -> None:
    ctx, http = app_with()
    _, key = ctx.keys.create(name="pub", role="publisher")
    _, reader = ctx.keys.create(name="reader", role="reader")
    for event in SETUP:
        path = "/v1/negotiations" if event["type"] == "NegotiationOpened" else None
        http.post(path or f"/v1/negotiations/{NID}/events", json=event, headers=bearer(key))
    for _ in "ab":
        assert (
            http.get(f"/v1/negotiations/{NID}?as_of=2024-12", headers=bearer(reader)).status_code
            == 200
        )
    text = http.get("/metrics").text
    assert "talkstream_asof_cache_misses_total 1.0" in text
    assert "talkstream_asof_cache_hits_total 1.0" in text
    assert "talkstream_asof_cache_evictions_total 0.0" in text
