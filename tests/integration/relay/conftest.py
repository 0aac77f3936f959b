"""Fixtures for the relay tests: a Redis client and this test's event stream, an SQLite store on
the test's prefix, and a private redis-server that is always killed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from services.bootstrap import build_application
from services.recorder.application import Negotiations
from services.runtime.settings import Settings
from services.runtime.streams import Streams
from tests.integration.relay.helpers import PrivateRedis


@pytest.fixture
def client(redis_url: str) -> Iterator[Redis]:
    """A client on the test Redis that returns bytes (the stream's exact contents)."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def stream(prefix: str) -> str:
    return Streams(prefix).events


@pytest.fixture
def sqlite_app(redis_settings: Settings) -> Iterator[Negotiations]:
    app = build_application(redis_settings)
    yield app
    app.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own (not yet started); killed whatever the test did."""
    server = PrivateRedis(tmp_path / "private-redis")
    try:
        yield server
    finally:
        server.kill()
