"""Repairing a diverged stream (``talkstream relay --rebuild-stream``) on both stores: the old
stream is kept under a dated key with its consumer groups recreated on the new one, the store
is republished, every view is rebuilt from the new stream (switching even to a generation
behind the old one), the recorded divergence is cleared; without a divergence it refuses
unless forced. Live workers follow the rebuilt views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from projections.live.store import ViewStore
from projections.live.worker import appliers
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.exceptions import StreamNotDiverged
from services.relay.relay import Relay
from services.runtime import live
from services.runtime.repair import rebuild_stream
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import NID, note
from tests.integration.relay.backups import KEPT, LOST, published_then_restored
from tests.integration.relay.helpers import relay_running, stream_problems, wait_for


@pytest.fixture
def settings(store_settings: Settings, redis_url: str, prefix: str) -> Settings:
    return store_settings.model_copy(update={"redis_url": redis_url, "prefix": prefix})


def _audit_view(settings: Settings) -> list[tuple[int, str]]:
    view: Any = live.read_view(settings, PROJECTIONS["audit"], NID)["view"]
    return [(row["position"], row["hash"]) for row in view]


def _stored(app: Negotiations) -> list[tuple[int, str]]:
    return [(n.id, app.body_of(n)[1]) for n in app.notifications()]


def _aside(client: Redis, stream: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{stream}:diverged:*"))


def test_rebuilding_keeps_the_old_stream_republishes_and_rebuilds_every_view(
    settings: Settings, tmp_path: Path, client: Redis, stream: str
) -> None:
    workers = appliers(client, settings.prefix)
    app = published_then_restored(settings, tmp_path, client, stream, workers=workers)
    try:
        old_groups = sorted(g["name"] for g in client.xinfo_groups(stream))
        written = app.record(note("after the restore"), principal="t")
        relay = Relay(app, Redis.from_url(str(settings.redis_url)), stream=stream)
        with relay_running(relay):
            wait_for(lambda: client.exists(f"{stream}:diverged") == 1, 20, "the divergence")
        lines: list[str] = []

        result = rebuild_stream(settings, progress=lines.append)

        assert result.divergence is not None and result.divergence.position == KEPT + 1
        (aside,) = _aside(client, stream)
        assert result.moved_to == aside
        assert client.xlen(aside) == KEPT + LOST
        assert sorted(g["name"] for g in client.xinfo_groups(aside)) == old_groups
        assert sorted(g["name"] for g in client.xinfo_groups(stream)) == old_groups
        assert stream_problems(client, stream, app) == []
        assert client.xlen(stream) == written.position == result.position
        for name in PROJECTIONS:
            store = ViewStore(client, settings.prefix, name)
            assert store.tracked(store.generation()) == written.position, name
        assert _audit_view(settings) == _stored(app)
        assert client.exists(f"{stream}:diverged") == 0
        assert any("republished" in line for line in lines), lines
    finally:
        app.close()


def test_a_divergence_no_relay_recorded_is_found_by_comparing_the_whole_stream(
    settings: Settings, tmp_path: Path, client: Redis, stream: str
) -> None:
    app = published_then_restored(settings, tmp_path, client, stream)
    try:
        app.record(note("after the restore"), principal="t")
        result = rebuild_stream(settings)
        assert result.divergence is not None and result.divergence.position == KEPT + 1
        assert stream_problems(client, stream, app) == []
    finally:
        app.close()


def test_without_a_divergence_it_refuses_unless_forced(
    settings: Settings, tmp_path: Path, client: Redis, stream: str
) -> None:
    app = published_then_restored(settings, tmp_path, client, stream)
    try:
        rebuild_stream(settings)
        with pytest.raises(StreamNotDiverged):
            rebuild_stream(settings)
        assert len(_aside(client, stream)) == 1
        forced = rebuild_stream(settings, force=True)
        assert forced.divergence is None
        assert len(_aside(client, stream)) == 2
        assert stream_problems(client, stream, app) == []
    finally:
        app.close()


def test_a_live_applier_follows_a_rebuild_behind_its_own_position(
    settings: Settings, tmp_path: Path, client: Redis, stream: str
) -> None:
    workers = appliers(client, settings.prefix)  # each remembers where its commits left the view
    app = published_then_restored(settings, tmp_path, client, stream, workers=workers)
    try:
        for applier in workers.values():
            assert applier.covers(KEPT + LOST)
        app.record(note("after the restore"), principal="t")
        rebuild_stream(settings)
        written = app.record(note("after the repair"), principal="t")
        Relay(app, client, stream=stream).catch_up()
        assert all(applier.covers(written.position) for applier in workers.values())  # stale

        for applier in workers.values():
            assert applier.follow_switch()
        assert _audit_view(settings) == _stored(app)
        for name in PROJECTIONS:
            store = ViewStore(client, settings.prefix, name)
            assert store.tracked(store.generation()) == written.position, name
        assert Streams(settings.prefix).projection_group("audit") in {
            g["name"].decode() for g in client.xinfo_groups(stream)
        }
    finally:
        app.close()
