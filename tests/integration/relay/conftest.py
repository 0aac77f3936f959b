"""Fixtures for the relay tests on both stores: settings on this test's prefix, and a store
restored from a backup behind the stream it had published (its application closed at the end)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from redis import Redis

from projections.live.apply import Applier
from projections.live.worker import appliers
from services.recorder.application import Negotiations
from services.settings import Settings
from tests.integration.relay.backups import published_then_restored


@pytest.fixture
def settings(store_settings: Settings, redis_url: str, prefix: str) -> Settings:
    return store_settings.model_copy(update={"redis_url": redis_url, "prefix": prefix})


@pytest.fixture
def restored(
    settings: Settings, tmp_path: Path, client: Redis, stream: str
) -> Iterator[Negotiations]:
    """The store restored behind the stream (``published_then_restored``)."""
    app = published_then_restored(settings, tmp_path, client, stream)
    yield app
    app.close()


@pytest.fixture
def workers(settings: Settings, client: Redis) -> dict[str, Applier]:
    """An applier per projection; each remembers where its commits left the view."""
    return appliers(client, settings.prefix)


@pytest.fixture
def restored_applied(
    settings: Settings,
    tmp_path: Path,
    client: Redis,
    stream: str,
    workers: Mapping[str, Applier],
) -> Iterator[Negotiations]:
    """The store restored behind the stream, whose every entry ``workers`` had applied."""
    app = published_then_restored(settings, tmp_path, client, stream, workers=workers)
    yield app
    app.close()
