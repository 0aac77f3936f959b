"""The projection workers through a restart of their Redis (a private redis-server): one that
comes back empty (every consumer group lost) and one that comes back behind what the workers
had applied (AOF restored from earlier). The workers create lost groups again, re-read what
they remembered, and the views end equal to folds of the store; the outage is one line when
Redis goes away and one when it is back, never a traceback."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.factories import note
from tests.integration.projections.support import live_differences, running, write_notes
from tests.integration.relay.helpers import relay_running
from tests.redis_servers import PrivateRedis
from tests.waiting import wait_for

NIDS = ["talks-a", "talks-b"]
PREFIX = "t"
OUTAGE = 4.0  # seconds: longer than redis-py's own retries, so every component notices


@pytest.fixture
def stores(private_redis: PrivateRedis) -> Iterator[list[ViewStore]]:
    """Every projection's views on the private Redis."""
    client = Redis.from_url(private_redis.url)
    yield [ViewStore(client, PREFIX, name) for name in PROJECTIONS]
    client.close()


@contextmanager
def relayed_and_projected(app: Negotiations, redis_url: str) -> Iterator[None]:
    """The relay and the projection workers running on the Redis at ``redis_url``."""
    relay = Relay(app, Redis.from_url(redis_url), stream=f"{PREFIX}:events")
    projectors, _, _ = build_projectors(redis_url, PREFIX, batch=50)
    with relay_running(relay), running(projectors):
        yield


def _differences(stores: list[ViewStore], app: Negotiations) -> list[str]:
    """Where the live views differ from folds of the store."""
    return [
        problem
        for store in stores
        for problem in live_differences(store, PROJECTIONS[store.name], app, NIDS)
    ]


def _applied(stores: list[ViewStore], position: int, what: str, timeout: float = 60) -> None:
    wait_for(
        lambda: all(s.tracked(s.generation()) >= position for s in stores),
        timeout,
        f"every projection to apply position {position} ({what})",
    )


def _more_notes(app: Negotiations, count: int) -> int:
    """Records ``count`` more notes on the first negotiation; returns the last position."""
    recorded = app.record_many(
        [note(f"later {k}", nid=NIDS[0]) for k in range(count)], principal="t"
    )
    return recorded[-1].position


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info]


def _lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


@pytest.mark.slow
def test_workers_recreate_their_groups_when_redis_comes_back_empty(
    sqlite_app: Negotiations,
    private_redis: PrivateRedis,
    stores: list[ViewStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with relayed_and_projected(sqlite_app, private_redis.url):
        write_notes(sqlite_app, NIDS, 300, 50)
        _applied(stores, sqlite_app.max_position(), "before the outage")

        private_redis.kill()
        private_redis.delete_data()
        time.sleep(OUTAGE)
        private_redis.start()
        _applied(stores, _more_notes(sqlite_app, 100), "after Redis came back empty")

    assert _differences(stores, sqlite_app) == []
    assert _tracebacks(caplog) == []
    assert len(_lines(caplog, "projections: Redis unavailable")) == 1, caplog.text
    assert len(_lines(caplog, "projections: Redis is back")) == 1, caplog.text


@pytest.mark.slow
def test_views_catch_up_when_redis_comes_back_behind_what_they_applied(
    sqlite_app: Negotiations,
    private_redis: PrivateRedis,
    stores: list[ViewStore],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with Redis.from_url(private_redis.url) as admin:
        admin.config_set("appendfsync", "always")  # the copy below holds every write made so far
    earlier = tmp_path / "earlier.aof"
    with relayed_and_projected(sqlite_app, private_redis.url):
        write_notes(sqlite_app, NIDS, 200, 50)
        _applied(stores, sqlite_app.max_position(), "the first notes")
        shutil.copy(private_redis.dir / "appendonly.aof", earlier)
        end = _more_notes(sqlite_app, 100)
        _applied(stores, end, "the later notes")

        private_redis.kill()  # comes back as it was at `behind`: its last writes are lost
        shutil.copy(earlier, private_redis.dir / "appendonly.aof")
        private_redis.start()
        _applied(stores, end, "after Redis came back behind the views")  # no new write

    assert _differences(stores, sqlite_app) == []
    assert _tracebacks(caplog) == []
