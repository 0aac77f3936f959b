"""A rebuild of a stream longer than one pass holds (projections/live/rebuild.py) folds it in
passes of one shard of negotiations each, and answers exactly as one pass over it does, also
while writes keep coming."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.client import Pipeline

from projections.live import rebuild as rebuilding
from projections.live import shards as sharding
from projections.live import store as store_module
from projections.live.apply import EntryReader, FlatEntry
from projections.live.rebuild import passes_for, rebuild
from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.wire.entries import position_of
from tests.integration.projections.support import (
    Background,
    live_differences,
    running,
    write_notes,
)
from tests.waiting import wait_for

NEGOTIATION = PROJECTIONS["negotiation"]


def test_a_rebuild_in_passes_equals_one_pass(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nids = [f"talks-{k}" for k in range(12)]
    write_notes(sqlite_app, nids, 600, 100)
    end = relay.catch_up()
    store = ViewStore(client, prefix, "negotiation")
    whole = rebuild(client, store, NEGOTIATION, relay.stream)
    assert whole.passes == 1
    monkeypatch.setattr(rebuilding, "PASS_EVENTS", 100)
    lines: list[str] = []
    parted = rebuild(client, store, NEGOTIATION, relay.stream, progress=lines.append)
    assert parted.passes == passes_for(end) > 1  # the bounded path was taken
    assert any(f"folded {end}/{end} entries" in line for line in lines)
    assert parted.position == whole.position == end
    assert parted.fingerprint == whole.fingerprint == parted.live_fingerprint
    assert live_differences(store, NEGOTIATION, sqlite_app, nids) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_rebuild_in_passes_reads_each_entry_of_the_stream_once_per_worker(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    nids = [f"talks-{k}" for k in range(12)]
    write_notes(sqlite_app, nids, 600, 100)
    end = relay.catch_up()
    store = ViewStore(client, prefix, "negotiation")
    whole = rebuild(client, store, NEGOTIATION, relay.stream, workers=1)
    monkeypatch.setattr(rebuilding, "PASS_EVENTS", 100)
    monkeypatch.setattr(sharding, "BULK_PAGE", 50)
    read: list[int] = []
    plain = EntryReader.flat_after

    def counted(self: EntryReader, position: int, through: int | None, count: int) -> object:
        got: list[FlatEntry] = plain(self, position, through, count)
        read.extend(position_of(at) for at, _ in got)
        return got

    monkeypatch.setattr(EntryReader, "flat_after", counted)
    monkeypatch.setattr(rebuilding, "_in_processes", _one_after_another)
    parted = rebuild(client, store, NEGOTIATION, relay.stream, workers=workers)
    assert parted.passes == passes_for(end, workers) > 1  # the bounded path was taken
    assert sorted(read) == sorted(list(range(1, end + 1)) * workers)
    assert parted.fingerprint == whole.fingerprint
    assert live_differences(store, NEGOTIATION, sqlite_app, nids) == []


def _one_after_another(
    jobs: list[sharding.ShardJob], rate: sharding.Rate, connecting: sharding.Connecting
) -> list[sharding.ShardsFolded]:
    """The workers' jobs in this process (where the reads can be counted)."""
    client = connecting.client()
    try:
        return [sharding.fold_shards(job, lambda _: None, client) for job in jobs]
    finally:
        client.close()


def test_a_rebuild_in_passes_while_writes_come_serves_every_event_once(
    sqlite_app: Negotiations,
    relay: Relay,
    redis_url: str,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rebuilding, "PASS_EVENTS", 500)
    nids = [f"talks-{k}" for k in range(5)]
    store = ViewStore(client, prefix, "negotiation")
    app, _, _ = build_projectors(redis_url, prefix, projections={"negotiation": NEGOTIATION})
    writer = Background(
        write_notes, sqlite_app, nids, 4000, 100, after_batch=relay.catch_up, pause=0.01
    )
    with running(app):
        writer.start()
        wait_for(lambda: store.tracked(store.generation()) > 1500, 30, "the worker to serve")
        rebuilt = rebuild(client, store, NEGOTIATION, relay.stream)
        writer.outcome()
        end = relay.catch_up()
        wait_for(lambda: store.tracked(store.generation()) == end, 30, "the worker to finish")
    assert rebuilt.passes > 1
    assert store.generation() == rebuilt.generation
    assert live_differences(store, NEGOTIATION, sqlite_app, nids) == []


def test_a_rebuild_writes_long_states_in_pieces_of_bounded_bytes(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nids = [f"talks-{k}" for k in range(4)]
    write_notes(sqlite_app, nids, 200, 50)
    relay.catch_up()
    store = ViewStore(client, prefix, "negotiation")
    whole = rebuild(client, store, NEGOTIATION, relay.stream)
    executed: list[int] = []
    plain = Pipeline.execute

    def counted(self: Pipeline, raise_on_error: bool = True) -> list[object]:
        executed.append(len(self.command_stack))
        return plain(self, raise_on_error)

    monkeypatch.setattr(Pipeline, "execute", counted)
    monkeypatch.setattr(store_module, "WRITE_ALL_BYTES", 1)  # every state goes out alone
    pieces = rebuild(client, store, NEGOTIATION, relay.stream)
    writes = [n for n in executed if n == 3]  # delete, hset, sadd of one state
    assert len(writes) >= len(nids)
    assert pieces.fingerprint == whole.fingerprint
    assert live_differences(store, NEGOTIATION, sqlite_app, nids) == []
