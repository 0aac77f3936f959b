"""Fuzzing the HTTP write endpoints with hostile JSON (tests/hostile_json.py) on the API served
by uvicorn with its relay and projection workers, on a store holding the bundled scenario.

Every answer must be a 2xx or a 4xx with the error body; the store must move by exactly what
the answer says was recorded (nothing for a refusal, nothing for a surely invalid event); no
record may be logged with a traceback; and afterwards the relay and every view must have
caught up with the store, nothing parked (a stored event every reader can read)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.api.keys import Role
from services.recorder.application import Negotiations
from services.runtime.bootstrap import build_api_context
from services.runtime.live import dead_letters
from services.settings import Settings
from tests.factories import scenario
from tests.hostile_json import (
    SCENARIO_ID,
    Case,
    Tracebacks,
    hostile_batches,
    hostile_events,
    mutated_event,
    opening,
    scenario_events,
)
from tests.integration.api.conftest import bearer, serve_in_thread
from tests.redis_keys import owned_prefix

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@dataclass
class Target:
    url: str
    app: Negotiations
    settings: Settings
    key: str
    tracebacks: Tracebacks


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Target]:
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    with owned_prefix(redis_url) as prefix:
        config = Settings(
            home=Path(tmp_path_factory.mktemp("fuzz")) / "home",
            redis_url=redis_url,
            prefix=prefix,
            api_rate_per_second=1e6,
            api_rate_burst=1_000_000,
        )
        ctx = build_api_context(config, redis_url)
        ctx.app.record_many(scenario(), principal="seed")
        try:
            with serve_in_thread(ctx, redis_url) as url:
                key = ctx.keys.create(name="fuzzer", role=Role.admin)[1]
                yield Target(url, ctx.app, config, key, tracebacks)
        finally:
            logging.getLogger().removeHandler(tracebacks)
            ctx.app.close()
            ctx.redis.close()


@pytest.fixture(scope="module")
def client(target: Target) -> Iterator[httpx.Client]:
    headers = {**bearer(target.key), "Content-Type": "application/json"}
    with httpx.Client(base_url=target.url, headers=headers, timeout=30) as client:
        yield client


def post(target: Target, client: httpx.Client, path: str, case: Case) -> tuple[Any, int, int]:
    """Posts the case; checks the answer's shape; returns it and how far the store moved."""
    before = target.app.max_position()
    logged = len(target.tracebacks.records)
    answer = client.post(path, content=case.text.encode())
    moved = target.app.max_position() - before
    target.tracebacks.assert_none(since=logged)
    assert answer.status_code < 500, f"{answer.status_code} for {case.why}: {answer.text[:300]}"
    body = answer.json()
    event(f"{answer.status_code} {body['error']['code'] if answer.status_code >= 400 else ''}")
    if answer.status_code >= 400:
        error = body["error"]
        assert error["code"] and error["message"], body
        assert moved == 0, f"{moved} events stored for a refused request ({case.why})"
    return body, answer.status_code, moved


def check_single(target: Target, client: httpx.Client, path: str, case: Case) -> None:
    body, status, moved = post(target, client, path, case)
    if status < 400:
        assert not case.surely_invalid, f"recorded a surely invalid event: {case.why}"
        assert moved == (0 if body["duplicate"] else 1)


def test_fuzzed_events_for_one_negotiation(target: Target, client: httpx.Client) -> None:
    @FUZZ
    @given(case=hostile_events(scenario_events()))
    def check(case: Case) -> None:
        check_single(target, client, f"/v1/negotiations/{SCENARIO_ID}/events", case)

    check()


def test_fuzzed_openings(target: Target, client: httpx.Client) -> None:
    @FUZZ
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(mutated_event([opening(scenario_events()[0])]))
        check_single(target, client, "/v1/negotiations", case)

    check()


def test_fuzzed_batches(target: Target, client: httpx.Client) -> None:
    @FUZZ
    @given(batch=hostile_batches(scenario_events()))
    def check(batch: tuple[Case, list[Case]]) -> None:
        request, events = batch
        body, status, moved = post(target, client, "/v1/events:batch", request)
        if status >= 400:
            return
        assert not request.surely_invalid, f"a surely invalid batch was accepted: {request.why}"
        results = body["results"]
        assert [r["index"] for r in results] == list(range(len(events)))
        assert moved == body["recorded"] == sum(r["status"] == 201 for r in results)
        for sent, result in zip(events, results, strict=True):
            if sent.surely_invalid:
                assert result["status"] >= 400, f"recorded a surely invalid event: {sent.why}"

    check()


def test_after_the_fuzz_every_reader_caught_up_with_the_store(
    target: Target, client: httpx.Client
) -> None:
    """Runs last in this module: what was stored must be readable by the relay and every
    projection (an event they cannot read would stall or park them)."""
    store = target.app.max_position()
    deadline = time.monotonic() + 60
    while True:
        ready = client.get("/readyz").json()
        views = set(ready["projections"].values())
        if ready["stream_position"] == store and views == {store}:
            break
        assert time.monotonic() < deadline, f"not caught up with the store at {store}: {ready}"
        time.sleep(0.2)
    parked = dead_letters(target.settings)["projections"]
    assert all(not negotiations for negotiations in parked.values()), parked
    target.tracebacks.assert_none()
