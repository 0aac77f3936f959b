"""Fixtures for the live projection tests: a bytes Redis client, and an SQLite store with a
relay onto this test's event stream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from services.bootstrap import build_application
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.runtime.settings import Settings


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    """A client that returns bytes, as the appliers and stores expect."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def stream(prefix: str) -> str:
    return f"{prefix}:events"


@pytest.fixture
def sqlite_app(redis_settings: Settings) -> Iterator[Negotiations]:
    app = build_application(redis_settings)
    yield app
    app.close()


@pytest.fixture
def relay(sqlite_app: Negotiations, client: Redis, stream: str) -> Relay:
    return Relay(sqlite_app, client, stream=stream)
