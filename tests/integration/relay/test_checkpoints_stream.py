"""Checkpoints on ``<prefix>:checkpoints``: each published once with the entry ID
``<size>-0``, those made while Redis was away published when it is back, and the log writer
running beside the relay in ``talkstream up`` signs and publishes them as events arrive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis as redis_py

from events.tlog import Ed25519Signer, open_checkpoint
from services.recorder.application import Negotiations
from services.recorder.ledger import LogWriter, load_verifier, open_ledger
from services.relay.checkpoints import CheckpointPublisher
from services.settings import Settings
from services.wire.checkpoints import CheckpointEntry
from tests.factories import note, scenario
from tests.integration.api.conftest import served_api
from tests.waiting import wait_for


def entries(client: redis_py.Redis, stream: str) -> list[tuple[str, CheckpointEntry]]:
    found: Any = client.xrange(stream)
    return [(entry_id.decode(), CheckpointEntry.decode(fields)) for entry_id, fields in found]


def test_each_checkpoint_is_published_once_in_size_order(
    sqlite_app: Negotiations, redis_settings: Settings, client: redis_py.Redis
) -> None:
    sqlite_app.record_many(scenario(), principal="ledger-test")
    ledger = open_ledger(sqlite_app, redis_settings)
    signer = Ed25519Signer.generate(ledger.origin)
    stream = f"{redis_settings.prefix}:checkpoints"
    publisher = CheckpointPublisher(ledger, client, stream)
    writer = LogWriter(sqlite_app, ledger, signer, every=5, seconds=1e9)
    writer.on_checkpoint.append(publisher.published)
    writer.catch_up()

    published = entries(client, stream)
    assert [entry_id for entry_id, _ in published] == ["5-0", "10-0", "15-0"]
    for entry_id, entry in published:
        checkpoint, _ = open_checkpoint(entry.note, [signer.verifier], origin=entry.origin)
        assert f"{checkpoint.size}-0" == entry_id == f"{entry.size}-0"
    assert publisher.sync() == 0  # nothing twice


def test_checkpoints_made_while_redis_was_away_are_published_when_it_is_back(
    sqlite_app: Negotiations, redis_settings: Settings, client: redis_py.Redis
) -> None:
    sqlite_app.record_many(scenario(), principal="ledger-test")
    ledger = open_ledger(sqlite_app, redis_settings)
    signer = Ed25519Signer.generate(ledger.origin)
    stream = f"{redis_settings.prefix}:checkpoints"
    away = redis_py.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    writer = LogWriter(sqlite_app, ledger, signer, every=4, seconds=1e9)
    writer.on_checkpoint.append(CheckpointPublisher(ledger, away, stream).published)
    writer.catch_up()  # the listener logs the outage instead of raising
    assert [c.size for c in ledger.checkpoints()] == [4, 8, 12]
    assert client.xlen(stream) == 0

    assert CheckpointPublisher(ledger, client, stream).sync() == 3
    assert [entry_id for entry_id, _ in entries(client, stream)] == ["4-0", "8-0", "12-0"]


def test_up_logs_signs_and_publishes_as_events_arrive(tmp_path: Path, redis_url: str) -> None:
    home = tmp_path / "home"
    with served_api(home, redis_url, checkpoint_every=5, checkpoint_seconds=300) as served:
        served.ctx.app.record_many(scenario(), principal="ledger-test")
        client = redis_py.Redis.from_url(redis_url)
        stream = served.ctx.streams.checkpoints
        wait_for(lambda: client.xlen(stream) >= 3, 30, "checkpoints 5, 10 and 15 on the stream")
        served.ctx.app.record(note("later", nid="us-iraq-jscd"), principal="ledger-test")
        wait_for(lambda: served.ctx.ledger.size() == 16, 30, "the 16th event in the tree")
        published = entries(client, stream)
        verifier = load_verifier(served.ctx.settings)  # the key made on first start
        client.close()
    assert [entry_id for entry_id, _ in published] == ["5-0", "10-0", "15-0"]
    for _, entry in published:
        open_checkpoint(entry.note, [verifier], origin=served.ctx.settings.log_origin)
    assert (home / "log.key").stat().st_mode & 0o777 == 0o600


def test_up_signs_a_checkpoint_after_t_seconds_with_fewer_than_n_new_events(
    tmp_path: Path, redis_url: str
) -> None:
    with served_api(
        tmp_path / "home", redis_url, checkpoint_every=1000, checkpoint_seconds=0.3
    ) as served:
        served.ctx.app.record_many(scenario()[:3], principal="ledger-test")
        client = redis_py.Redis.from_url(redis_url)
        stream = served.ctx.streams.checkpoints
        wait_for(lambda: client.xlen(stream) >= 1, 30, "a checkpoint after 0.3 s")
        published = entries(client, stream)
        client.close()
    assert published[0][0] == "3-0"
