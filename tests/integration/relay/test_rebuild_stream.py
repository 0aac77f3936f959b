"""Repairing a diverged stream (``talkstream relay --rebuild-stream``) on both stores: the old
stream is kept under a dated key with its consumer groups recreated on the new one, the store
is republished, every view is rebuilt from the new stream (switching even to a generation
behind the old one), the recorded divergence is cleared; without a divergence it refuses
unless forced. Live workers follow the rebuilt views."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis

from projections.live.apply import Applier
from projections.live.store import ViewStore
from projections.views import PROJECTIONS, STORED
from services.recorder.application import Negotiations
from services.relay.exceptions import StreamNotDiverged
from services.relay.relay import Relay
from services.runtime import live
from services.runtime.repair import rebuild_stream
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import NID, note
from tests.integration.relay.backups import KEPT, LOST
from tests.integration.relay.helpers import relay_diverging, stream_problems


def _audit_view(settings: Settings) -> list[tuple[int, str]]:
    view: Any = live.read_view(settings, PROJECTIONS["audit"], NID)["view"]
    return [(row["position"], row["hash"]) for row in view]


def _stored(app: Negotiations) -> list[tuple[int, str]]:
    return [(n.id, app.body_of(n)[1]) for n in app.notifications()]


def _tracked(client: Redis, prefix: str) -> dict[str, int]:
    """The position each projection's current views have applied."""
    stores = (ViewStore(client, prefix, name) for name in PROJECTIONS)
    return {store.name: store.tracked(store.generation()) for store in stores}


def _aside(client: Redis, stream: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=f"{stream}:diverged:*"))


def test_rebuilding_keeps_the_old_stream_republishes_and_rebuilds_every_view(
    settings: Settings,
    client: Redis,
    stream: str,
    restored_applied: Negotiations,
) -> None:
    old_groups = sorted(g["name"] for g in client.xinfo_groups(stream))
    written = restored_applied.record(note("after the restore"), principal="t")
    with relay_diverging(restored_applied, str(settings.redis_url), stream):
        pass
    lines: list[str] = []

    result = rebuild_stream(settings, progress=lines.append)

    assert result.divergence is not None and result.divergence.position == KEPT + 1
    (aside,) = _aside(client, stream)
    assert result.moved_to == aside
    assert client.xlen(aside) == KEPT + LOST
    assert sorted(g["name"] for g in client.xinfo_groups(aside)) == old_groups
    assert sorted(g["name"] for g in client.xinfo_groups(stream)) == old_groups
    assert stream_problems(client, stream, restored_applied) == []
    assert client.xlen(stream) == written.position == result.position
    assert _tracked(client, settings.prefix) == dict.fromkeys(PROJECTIONS, written.position)
    assert _audit_view(settings) == _stored(restored_applied)
    assert client.exists(f"{stream}:diverged") == 0
    assert any("republished" in line for line in lines), lines


def test_a_divergence_no_relay_recorded_is_found_by_comparing_the_whole_stream(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    restored.record(note("after the restore"), principal="t")
    result = rebuild_stream(settings)
    assert result.divergence is not None and result.divergence.position == KEPT + 1
    assert stream_problems(client, stream, restored) == []


def test_without_a_divergence_it_refuses_unless_forced(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    rebuild_stream(settings)
    with pytest.raises(StreamNotDiverged):
        rebuild_stream(settings)
    assert len(_aside(client, stream)) == 1
    forced = rebuild_stream(settings, force=True)
    assert forced.divergence is None
    assert len(_aside(client, stream)) == 2
    assert stream_problems(client, stream, restored) == []


def test_a_live_applier_follows_a_rebuild_behind_its_own_position(
    settings: Settings,
    client: Redis,
    stream: str,
    restored_applied: Negotiations,
    workers: dict[str, Applier],
) -> None:
    for applier in workers.values():
        assert applier.covers(KEPT + LOST)
    restored_applied.record(note("after the restore"), principal="t")
    rebuild_stream(settings)
    written = restored_applied.record(note("after the repair"), principal="t")
    Relay(restored_applied, client, stream=stream).catch_up()
    assert all(applier.covers(written.position) for applier in workers.values())  # stale

    for applier in workers.values():
        assert applier.follow_switch()
    assert _audit_view(settings) == _stored(restored_applied)
    assert _tracked(client, settings.prefix) == dict.fromkeys(PROJECTIONS, written.position)
    assert {Streams(settings.prefix).projection_group(name) for name in STORED} <= {
        g["name"].decode() for g in client.xinfo_groups(stream)
    }
