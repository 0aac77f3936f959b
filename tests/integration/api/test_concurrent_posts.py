"""Concurrent single-event POSTs are stored in one transaction (group commit), each answered
for itself: a refused one gets its own 4xx and sinks none of the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from events import parse_draft
from services.api.context import ApiContext
from services.settings import Settings
from tests.factories import NID, NOTE, SETUP, body
from tests.integration.api.conftest import bearer

WAIT = 10.0


@pytest.fixture
def api_settings(redis_settings: Settings) -> Settings:
    """No rate limit in the way of the concurrent writes."""
    return redis_settings.model_copy(update={"api_rate_per_second": 1e6, "api_rate_burst": 1e6})


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_concurrent_posts_share_one_transaction_and_keep_their_own_answers(
    ctx: ApiContext, http: TestClient, keys: dict[str, str]
) -> None:
    ctx.app.record_many([parse_draft(b) for b in SETUP], principal="seed")
    saves: list[int] = []

    def saved() -> None:  # the first save is held until four more writes wait behind it
        saves.append(1)
        if len(saves) == 1:
            _until(lambda: ctx.app.group_commit.waiting == 4)

    ctx.app.after_save.append(saved)
    headers = bearer(keys["publisher"])

    def post(nid: str, text: str) -> Response:
        event = body("ContextNoted", {**NOTE, "text": text}, nid)
        return http.post(f"/v1/negotiations/{nid}/events", json=event, headers=headers)

    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(post, NID, "first")
        _until(lambda: len(saves) == 1)
        asks = [(NID, "a"), ("not-opened", "lost"), (NID, "b"), (NID, "c")]
        futures = [pool.submit(post, *a) for a in asks]
        answers = [f.result(WAIT) for f in futures]
        assert first.result(WAIT).status_code == 201
    assert [a.status_code for a in answers] == [201, 404, 201, 201]
    assert answers[1].json()["error"]["code"] == "negotiation_not_found"
    assert len(saves) == 2, "the four writes behind the first were one transaction"
    stored = {e.event_id: e for e in ctx.app.history(NID)}
    for answer, (_, text) in zip(answers, asks, strict=True):
        if answer.status_code == 201:
            event = stored[answer.json()["event_id"]]
            assert event.position == answer.json()["position"]
            assert event.draft.payload.model_dump()["text"] == text
