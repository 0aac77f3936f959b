"""``/readyz`` and ``/metrics`` say whether this process's relay holds the relay lease: of two
API processes with workers on one store and one Redis prefix, one is the holder and the other
stands by, and both are ready (a standby is healthy, not degraded); an API without workers runs
no relay and says nothing about the lease."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from tests.integration.api.conftest import serving
from tests.waiting import wait_for


def _ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=10)


def test_of_two_api_processes_one_holds_the_relay_lease_and_both_are_ready(
    api_settings: Settings, redis_url: str
) -> None:
    contexts = [build_api_context(api_settings, redis_url) for _ in range(2)]
    try:
        with (
            serving(contexts[0], redis_url) as (first, _),
            serving(contexts[1], redis_url) as (
                second,
                _,
            ),
        ):
            urls = [first, second]
            roles = lambda: sorted(_ready(u).json()["relay_lease"] for u in urls)  # noqa: E731
            wait_for(lambda: roles() == ["holder", "standby"], 60, "one holder, one standby")
            answers: list[Any] = [_ready(u) for u in urls]
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            assert all(a.json()["problems"] == [] for a in answers)
            held = {a.json()["relay_lease"]: u for a, u in zip(answers, urls, strict=True)}
            holder_metrics = httpx.get(f"{held['holder']}/metrics", timeout=10).text
            standby_metrics = httpx.get(f"{held['standby']}/metrics", timeout=10).text
            assert "talkstream_relay_lease_held 1.0" in holder_metrics
            assert "talkstream_relay_lease_held 0.0" in standby_metrics
    finally:
        for ctx in contexts:
            ctx.app.close()
            ctx.redis.close()


def test_an_api_without_workers_says_nothing_about_the_relay_lease(http: TestClient) -> None:
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["relay_lease"] is None
    assert "talkstream_relay_lease_held" not in http.get("/metrics").text
