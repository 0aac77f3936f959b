"""Fixtures for the live projection tests: a bytes Redis client, and an SQLite store with a
relay onto this test's event stream."""

from __future__ import annotations

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.relay.relay import Relay


@pytest.fixture
def relay(sqlite_app: Negotiations, client: Redis, stream: str) -> Relay:
    return Relay(sqlite_app, client, stream=stream)
