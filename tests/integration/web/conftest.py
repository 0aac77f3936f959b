"""Page fixtures: the API app with the page mounted (as ``talkstream up`` builds it), in
process on a real SQLite file and the test Redis, the scenario recorded and applied to the
views, and one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.context import ApiContext
from services.runtime.bootstrap import build_api_context
from services.runtime.server import build_app
from services.settings import Settings
from tests.factories import scenario
from tests.integration.api.conftest import catch_up, role_keys

SCENARIO_ID = "us-iraq-jscd"
PAGE = f"/n/{SCENARIO_ID}"


def page_context(settings: Settings, redis_url: str) -> ApiContext:
    ctx = build_api_context(settings, redis_url)
    ctx.app.record_many(scenario(), principal="seed")
    catch_up(ctx)
    return ctx


@pytest.fixture
def ctx(redis_settings: Settings, redis_url: str) -> Iterator[ApiContext]:
    ctx = page_context(redis_settings, redis_url)
    yield ctx
    ctx.app.close()
    ctx.redis.close()


@pytest.fixture
def keys(ctx: ApiContext) -> dict[str, str]:
    return role_keys(ctx)


@pytest.fixture
def browser(ctx: ApiContext) -> Iterator[TestClient]:
    """A client of the app with the page, keeping cookies like a browser."""
    with TestClient(build_app(ctx, None), raise_server_exceptions=False) as client:
        yield client


def sign_in(browser: TestClient, key: str) -> None:
    answer = browser.post("/session", data={"key": key, "next": PAGE}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
