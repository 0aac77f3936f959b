"""Fixtures for the embedded Redis: a fresh home per test, helper processes that use it, and a
teardown that kills every redis-server left under the home, so a failing test leaks nothing.

Never touches the shared Redis on 127.0.0.1:6379: every server here listens on a port the OS
picked, and settings always pass ``redis_url=None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.settings import Settings
from tests.integration.runtime.helpers import UserProcess, kill_servers


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A fresh talkstream home; any redis-server still running under it is killed afterwards."""
    path = tmp_path / "home"
    try:
        yield path
    finally:
        kill_servers(path)


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, redis_url=None)


@pytest.fixture
def spawn_user(home: Path) -> Iterator[Callable[[], UserProcess]]:
    """Starts separate processes using the home's Redis; kills them afterwards (before the
    home's teardown kills the servers they left)."""
    started: list[UserProcess] = []

    def spawn() -> UserProcess:
        started.append(UserProcess(home))
        return started[-1]

    try:
        yield spawn
    finally:
        for user in started:
            user.kill()
