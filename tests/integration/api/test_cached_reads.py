"""A live read served from the rendering cache touches one Redis key (the view's ``@served``
hash) while nothing was written to the view; any write to it (a commit, a resumed parking, a
rebuild's switch) moves its stamp, and the next read renders what changed. Such a read is
answered ahead of the framework (``services/api/cached.py``) with the very bytes and headers
the route answers, and every read the route would refuse or treat otherwise goes on to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from redis import Redis

from events import parse_draft
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.api.app import create_app
from services.api.cached import answer_json
from services.api.context import ApiContext
from services.api.models import ViewAnswer
from services.api.rendered import view_json
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from services.wire.divergence import Divergence
from tests.factories import NID, NOTE, SETUP, body, scenario
from tests.integration.api.conftest import bearer, catch_up

SCENARIO = "us-iraq-jscd"


def _spy(
    monkeypatch: pytest.MonkeyPatch, client: Redis, seen: list[tuple[Any, ...]] | None = None
) -> list[tuple[Any, ...]]:
    """Every command ``client`` sends from now on, pipelined ones included."""
    seen = [] if seen is None else seen
    execute: Callable[..., Any] = client.execute_command
    make_pipeline: Callable[..., Any] = client.pipeline

    def spied(*args: Any, **options: Any) -> Any:
        seen.append(args)
        return execute(*args, **options)

    def pipeline(*args: Any, **options: Any) -> Any:
        pipe = make_pipeline(*args, **options)
        run = pipe.execute

        def execute_pipe(*a: Any, **k: Any) -> Any:
            seen.extend(command[0] for command in pipe.command_stack)
            return run(*a, **k)

        pipe.execute = execute_pipe
        return pipe

    monkeypatch.setattr(client, "execute_command", spied)
    monkeypatch.setattr(client, "pipeline", pipeline)
    return seen


def _spy_async(
    monkeypatch: pytest.MonkeyPatch, ctx: ApiContext, seen: list[tuple[Any, ...]] | None = None
) -> list[tuple[Any, ...]]:
    """Every command the API sends from now on through its asyncio Redis client (the
    divergence header's once-a-second read put off for the test's length)."""
    ctx.divergence.reread = 3600
    seen = [] if seen is None else seen
    execute: Callable[..., Any] = ctx.async_redis.execute_command

    async def spied(*args: Any, **options: Any) -> Any:
        seen.append(args)
        return await execute(*args, **options)

    monkeypatch.setattr(ctx.async_redis, "execute_command", spied)
    return seen


def _spy_both(monkeypatch: pytest.MonkeyPatch, ctx: ApiContext) -> list[tuple[Any, ...]]:
    """Every command the API sends from now on through either of its Redis clients."""
    return _spy_async(monkeypatch, ctx, _spy(monkeypatch, ctx.redis))


def _record(ctx: ApiContext, text: str) -> None:
    ctx.app.record(parse_draft(body("ContextNoted", {**NOTE, "text": text})), principal="p")
    catch_up(ctx)


@pytest.mark.parametrize("view", ["negotiation", "timeline"])
def test_an_unchanged_view_is_served_after_one_read_of_one_key(
    ctx: ApiContext,
    http: TestClient,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    view: str,
) -> None:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    catch_up(ctx)
    path = f"/v1/negotiations/{NID}" + ("" if view == "negotiation" else f"/{view}")
    headers = bearer(keys["reader"])
    first = http.get(path, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["source"] == "live"
    seen = _spy_both(monkeypatch, ctx)
    again = http.get(path, headers=headers)
    assert again.json() == first.json()
    served = f"{ctx.settings.prefix}:view:negotiation:@served"
    assert [(c[0], c[1]) for c in seen] == [("HMGET", served)]


def test_every_write_to_the_view_moves_its_stamp_and_the_next_read_shows_it(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    catch_up(ctx)
    store = ViewStore(ctx.redis, ctx.settings.prefix, "negotiation")
    headers = bearer(keys["reader"])
    before = http.get(f"/v1/negotiations/{NID}", headers=headers).json()
    stamp = store.served()
    assert stamp is not None and stamp.tracked == before["position"]

    _record(ctx, "A later note.")
    moved = store.served()
    assert moved is not None and moved.stamp > stamp.stamp
    after = http.get(f"/v1/negotiations/{NID}", headers=headers).json()
    assert after["position"] == moved.tracked > before["position"]
    assert after["view"] != before["view"]

    rebuilt = rebuild(ctx.redis, store, PROJECTIONS["negotiation"], ctx.streams.events)
    switched = store.served()
    assert switched is not None and switched.gen == rebuilt.generation
    assert switched.stamp > moved.stamp and switched.tracked == rebuilt.position
    assert http.get(f"/v1/negotiations/{NID}", headers=headers).json() == after


VIEWS = ["", "/timeline", "/positions", "/commitments"]


def _seeded(ctx: ApiContext) -> None:
    ctx.app.record_many(scenario(), principal="seed")
    catch_up(ctx)


@pytest.mark.parametrize("suffix", VIEWS)
def test_a_cached_read_answers_the_routes_bytes_and_headers(
    ctx: ApiContext,
    http: TestClient,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
) -> None:
    _seeded(ctx)
    path = f"/v1/negotiations/{SCENARIO}{suffix}"
    headers = bearer(keys["reader"])
    first = http.get(path, headers=headers)  # rendered from the state, then confirmed
    assert first.status_code == 200
    by_route = _spy(monkeypatch, ctx.redis)
    ahead = _spy_async(monkeypatch, ctx)
    cached = http.get(path, headers=headers)
    served = "positions" if suffix == "/positions" else "commitments"
    served = "negotiation" if suffix in ("", "/timeline") else served
    assert [(c[0], c[1]) for c in ahead] == [
        ("HMGET", f"{ctx.settings.prefix}:view:{served}:@served")
    ]
    assert by_route == []  # answered ahead of the route
    routed = http.get(path, params={"min_position": 0}, headers=headers)
    assert by_route  # the route read the view
    assert cached.status_code == routed.status_code == 200
    assert cached.content == routed.content == first.content
    assert cached.headers == routed.headers
    assert cached.json()["source"] == "live" and cached.json()["view"]


def test_the_answers_json_is_the_response_models_for_any_view() -> None:
    views: list[Any] = [
        {"title": "Gespräche über Truppen – «Übergang»", "n": 3, "x": 0.1, "big": 2**70},
        [{"a": None, "b": [1.5e-7, 1e22, True]}, '\u2028 \\ " \n'],
        None,
        "",
    ]
    for view in views:
        answer = ViewAnswer(negotiation_id="talks-a", position=42, source="live", view=view)
        expected = TypeAdapter(ViewAnswer).dump_json(answer, by_alias=True)
        assert answer_json("talks-a", 42, view_json(view)) == expected


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer tsk_00000000_nope"}, 401, "invalid_key"),
        ({"Authorization": "Basic abc"}, 401, "invalid_key"),
        ("publisher", 403, "forbidden"),
    ],
)
def test_a_caller_the_route_refuses_is_refused_with_its_error(
    ctx: ApiContext,
    http: TestClient,
    keys: dict[str, str],
    headers: dict[str, str] | str,
    status: int,
    code: str,
) -> None:
    _seeded(ctx)
    path = f"/v1/negotiations/{SCENARIO}"
    assert http.get(path, headers=bearer(keys["reader"])).status_code == 200
    sent = bearer(keys[headers]) if isinstance(headers, str) else headers
    refused = http.get(path, headers=sent)
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code


def test_past_the_burst_a_cached_read_is_429_and_a_refusal_takes_no_token(
    redis_settings: Settings, redis_url: str
) -> None:
    ctx = build_api_context(
        redis_settings.model_copy(update={"api_rate_per_second": 0.01, "api_rate_burst": 3}),
        redis_url,
    )
    try:
        _, key = ctx.keys.create(name="eager", role="reader")
        _seeded(ctx)
        path = f"/v1/negotiations/{SCENARIO}"
        with TestClient(create_app(ctx), raise_server_exceptions=False) as http:
            answers = [http.get(path, headers=bearer(key)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[1].content == answers[2].content  # the cached answers
        assert answers[3].json()["error"]["code"] == "rate_limited"
        assert answers[3].headers["Retry-After"]
        bucket, _ = ctx.limiter._buckets["eager"]
        assert 0 <= bucket < 1  # three tokens taken, none by the refusal
    finally:
        ctx.app.close()
        ctx.redis.close()


@pytest.mark.parametrize(
    "query",
    [{"asof": "2024"}, {"as_of": "2024-08"}, {"min_position": "99999"}],
)
def test_a_read_with_a_query_is_answered_by_the_route(
    ctx: ApiContext, http: TestClient, keys: dict[str, str], query: dict[str, str]
) -> None:
    _seeded(ctx)
    path = f"/v1/negotiations/{SCENARIO}"
    headers = bearer(keys["reader"])
    live = http.get(path, headers=headers)
    answered = http.get(path, params=query, headers=headers)
    assert answered.content != live.content
    if "asof" in query:
        assert answered.status_code == 422
        assert answered.json()["error"]["code"] == "unknown_parameter"
    elif "as_of" in query:
        assert answered.json()["source"] == "store"
    else:
        assert answered.status_code == 422  # beyond the last recorded position


def test_a_cached_read_says_degraded_while_the_stream_has_diverged(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    _seeded(ctx)
    path = f"/v1/negotiations/{SCENARIO}"
    headers = bearer(keys["reader"])
    healthy = http.get(path, headers=headers)
    assert "Talkstream-Degraded" not in healthy.headers
    ctx.divergence.reread = 3600
    ctx.divergence.update(Divergence(position=1, store_hash="a", stream_hash="b"))
    degraded = http.get(path, headers=headers)
    assert degraded.headers["Talkstream-Degraded"] == "stream_diverged"
    assert degraded.content == healthy.content


def test_cached_reads_are_counted_in_the_metrics_under_their_route(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    _seeded(ctx)
    headers = bearer(keys["reader"])
    for suffix in VIEWS:
        for _ in range(3):
            assert http.get(f"/v1/negotiations/{SCENARIO}{suffix}", headers=headers).is_success
    text = http.get("/metrics", headers=bearer(keys["admin"])).text
    for suffix in VIEWS:
        route = "/v1/negotiations/{negotiation_id}" + suffix
        counted = f'talkstream_http_requests_total{{method="GET",route="{route}",status="200"}} 3.0'
        assert counted in text
