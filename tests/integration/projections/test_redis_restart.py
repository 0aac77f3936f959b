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
from pathlib import Path

import pytest
from redis import Redis

from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.factories import note
from tests.integration.projections.support import live_differences, running, wait_for, write_notes
from tests.integration.relay.helpers import PrivateRedis, relay_running

NIDS = ["talks-a", "talks-b"]
OUTAGE = 4.0  # seconds: longer than redis-py's own retries, so every component notices


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "private-redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _stores(client: Redis, prefix: str) -> list[ViewStore]:
    return [ViewStore(client, prefix, name) for name in PROJECTIONS]


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
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    prefix = "t"
    client = Redis.from_url(private_redis.url)
    relay = Relay(sqlite_app, Redis.from_url(private_redis.url), stream=f"{prefix}:events")
    app, _, _ = build_projectors(private_redis.url, prefix, batch=50)
    stores = _stores(client, prefix)
    with relay_running(relay), running(app):
        write_notes(sqlite_app, NIDS, 300, 50)
        _applied(stores, sqlite_app.max_position(), "before the outage")

        private_redis.kill()
        for path in private_redis.dir.glob("appendonly*"):
            path.unlink()
        time.sleep(OUTAGE)
        private_redis.start()
        _applied(stores, _more_notes(sqlite_app, 100), "after Redis came back empty")

    for store in stores:
        assert live_differences(store, PROJECTIONS[store.name], sqlite_app, NIDS) == []
    assert _tracebacks(caplog) == []
    assert len(_lines(caplog, "projections: Redis unavailable")) == 1, caplog.text
    assert len(_lines(caplog, "projections: Redis is back")) == 1, caplog.text
    client.close()


@pytest.mark.slow
def test_views_catch_up_when_redis_comes_back_behind_what_they_applied(
    sqlite_app: Negotiations,
    private_redis: PrivateRedis,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    prefix = "t"
    client = Redis.from_url(private_redis.url)
    client.config_set("appendfsync", "always")  # the copy below holds every write made so far
    relay = Relay(sqlite_app, Redis.from_url(private_redis.url), stream=f"{prefix}:events")
    app, _, _ = build_projectors(private_redis.url, prefix, batch=50)
    stores = _stores(client, prefix)
    earlier = tmp_path / "earlier.aof"
    with relay_running(relay), running(app):
        write_notes(sqlite_app, NIDS, 200, 50)
        _applied(stores, sqlite_app.max_position(), "the first notes")
        shutil.copy(private_redis.dir / "appendonly.aof", earlier)
        end = _more_notes(sqlite_app, 100)
        _applied(stores, end, "the later notes")

        private_redis.kill()  # comes back as it was at `behind`: its last writes are lost
        shutil.copy(earlier, private_redis.dir / "appendonly.aof")
        private_redis.start()
        _applied(stores, end, "after Redis came back behind the views")  # no new write

    for store in stores:
        assert live_differences(store, PROJECTIONS[store.name], sqlite_app, NIDS) == []
    assert _tracebacks(caplog) == []
    client.close()
