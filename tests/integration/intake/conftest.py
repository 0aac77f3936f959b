"""The intake tests name the shared fixtures after what they are to the intake."""

from __future__ import annotations

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.wire.streams import Streams


@pytest.fixture
def redis(client: Redis) -> Redis:
    return client


@pytest.fixture
def app(sqlite_app: Negotiations) -> Negotiations:
    return sqlite_app


@pytest.fixture
def streams(prefix: str) -> Streams:
    """The keys and stream names of this test's prefix."""
    return Streams(prefix)
