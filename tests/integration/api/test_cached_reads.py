"""A live read served from the rendering cache touches one Redis key (the view's ``@served``
hash) while nothing was written to the view; any write to it (a commit, a resumed parking, a
rebuild's switch) moves its stamp, and the next read renders what changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from events import parse_draft
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.api.context import ApiContext
from tests.factories import NID, NOTE, SETUP, body
from tests.integration.api.conftest import bearer, catch_up


def _spy(monkeypatch: pytest.MonkeyPatch, client: Redis) -> list[tuple[Any, ...]]:
    """Every command ``client`` sends from now on, pipelined ones included."""
    seen: list[tuple[Any, ...]] = []
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
    seen = _spy(monkeypatch, ctx.redis)
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
