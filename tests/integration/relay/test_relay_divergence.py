"""The relay against a store restored from an earlier copy (a SQLite file, PostgreSQL tables)
while the stream kept the later history: it compares the hashes where the two overlap, stops
publishing at the first differing position and records it in Redis, where every process sees
it; a refused position with the same hash stays a plain duplicate."""

from __future__ import annotations

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.relay.exceptions import StreamDiverged
from services.relay.relay import Relay, RelayStats
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.factories import note
from tests.integration.relay.backups import KEPT, LOST
from tests.integration.relay.helpers import (
    open_negotiations,
    relay_diverging,
    relay_running,
    stream_problems,
    wait_until_published,
    write_notes,
)


def _hash_at(client: Redis, stream: str, position: int) -> str:
    ((_, fields),) = client.xrange(stream, f"{position}-0", f"{position}-0")
    return str(fields[b"hash"].decode())


def _record(client: Redis, stream: str) -> dict[str, str]:
    raw = client.hgetall(f"{stream}:diverged")
    return {k.decode(): v.decode() for k, v in raw.items()}


def test_relay_stops_when_the_store_is_restored_behind_the_stream(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    with relay_diverging(restored, str(settings.redis_url), stream) as relay:
        written = restored.record(note("after the restore"), principal="t")
        relay.notify()
    assert written.position == KEPT + 1
    record = _record(client, stream)
    assert record["position"] == str(KEPT + 1)
    assert record["store_hash"] == ""  # the store lacked the position when it was found
    assert record["stream_hash"] == _hash_at(client, stream, KEPT + 1)
    assert record["store_position"] == str(KEPT)
    assert record["stream_position"] == str(KEPT + LOST)
    assert client.xlen(stream) == KEPT + LOST
    assert _hash_at(client, stream, KEPT + 1) != written.hash
    assert relay.stats == RelayStats(published=0, duplicates=0)


def test_relay_stops_when_the_restored_store_has_moved_past_the_stream(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    write_notes(restored, ["talks-a"], LOST + 3, LOST + 3, tag="new")
    with relay_diverging(restored, str(settings.redis_url), stream):
        pass
    store_hash = restored.body_of(next(restored.notifications(after=KEPT)))[1]
    record = _record(client, stream)
    assert (record["position"], record["store_hash"]) == (str(KEPT + 1), store_hash)
    assert record["stream_hash"] == _hash_at(client, stream, KEPT + 1)
    assert client.xlen(stream) == KEPT + LOST  # nothing of the new history was added


def test_a_refused_position_with_another_hash_is_a_divergence_not_a_duplicate(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    write_notes(restored, ["talks-a"], 2, 2, tag="new")
    relay = Relay(restored, client, stream=stream)
    batch = relay.read(0)
    assert batch is not None
    with pytest.raises(StreamDiverged) as diverged:
        relay.send(batch)
    found = diverged.value.divergence
    assert found.position == KEPT + 1
    assert found.store_hash == restored.body_of(next(restored.notifications(after=KEPT)))[1]
    assert found.stream_hash == _hash_at(client, stream, KEPT + 1)
    assert relay.stats == RelayStats(published=0, duplicates=KEPT)
    assert client.xlen(stream) == KEPT + LOST


def test_the_relay_checks_the_store_where_it_left_the_stream(
    settings: Settings, client: Redis, stream: str, restored: Negotiations
) -> None:
    """After a save in its own process the relay goes on from where it left the stream
    without reading the stream's end: the store's event there must still be the one sent."""
    write_notes(restored, ["talks-a"], LOST + 3, LOST + 3, tag="new")
    relay = Relay(restored, client, stream=stream)
    top = KEPT + LOST
    with pytest.raises(StreamDiverged) as diverged:
        relay.read(top, _hash_at(client, stream, top))
    assert diverged.value.divergence.position == KEPT + 1
    assert relay.read(KEPT, _hash_at(client, stream, KEPT)) is not None


def test_a_true_duplicate_is_counted_as_a_duplicate_not_a_divergence(
    settings: Settings, client: Redis, stream: str
) -> None:
    app = build_application(settings)
    try:
        open_negotiations(app, ["talks-a"])
        write_notes(app, ["talks-a"], 6, 6)
        Relay(app, client, stream=stream).catch_up()
        second = Relay(app, client, stream=stream)  # a relay starting over from position 0
        assert second.send(second.read(0))  # type: ignore[arg-type]
        assert second.stats == RelayStats(published=0, duplicates=9)
        relay = Relay(app, Redis.from_url(str(settings.redis_url)), stream=stream)
        with relay_running(relay):
            written = app.record(note("one more"), principal="t")
            assert wait_until_published(relay, written.position, timeout=20)
        assert client.exists(f"{stream}:diverged") == 0
        assert stream_problems(client, stream, app) == []
    finally:
        app.close()
