"""A rebuild of a stream longer than one pass holds (projections/live/rebuild.py) folds it in
passes of one shard of negotiations each, and answers exactly as one pass over it does, also
while writes keep coming."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.client import Pipeline

from projections.live import rebuild as rebuilding
from projections.live import store as store_module
from projections.live.rebuild import passes_for, rebuild
from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
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
