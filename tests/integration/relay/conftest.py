"""Fixtures for the relay tests: a Redis client and this test's event stream, an SQLite store on
the test's prefix, and a private redis-server that is always killed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.relay.helpers import PrivateRedis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own (not yet started); killed whatever the test did."""
    server = PrivateRedis(tmp_path / "private-redis")
    try:
        yield server
    finally:
        server.kill()
