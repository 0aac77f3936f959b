"""A rebuild folded by several worker processes, each its own shards of negotiations in passes
(projections/live/rebuild.py, projections/live/shards.py), serves exactly what one process
folding alone serves: the same position, the same fingerprint, the same states as the fold."""

from __future__ import annotations

import multiprocessing
import random
import threading
from typing import Any

import pytest
from redis import Redis

from projections.live import rebuild as rebuilding
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import STORED
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.integration.projections.support import live_differences, record_history


@pytest.mark.parametrize("seed", [3, 17, 2026])
def test_a_parallel_rebuild_equals_the_serial_one(
    seed: int,
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(seed)
    nids = [f"talks-{k}" for k in range(rng.randint(4, 8))]
    choices = [
        (rng.randrange(8), rng.randrange(31), rng.randrange(12))
        for _ in range(rng.randint(60, 120))
    ]
    record_history(sqlite_app, nids, choices)
    end = relay.catch_up()
    monkeypatch.setattr(rebuilding, "PASS_EVENTS", 15)  # several passes for each worker
    for name, projection in STORED.items():
        store = ViewStore(client, prefix, name)
        serial = rebuild(client, store, projection, relay.stream, workers=1)
        assert (serial.workers, serial.position) == (1, end)
        assert serial.passes > 1
        for workers in (2, 3):
            lines: list[str] = []
            parallel = rebuild(
                client, store, projection, relay.stream, workers=workers, progress=lines.append
            )
            assert parallel.workers == workers
            assert parallel.passes > 1
            assert parallel.position == end
            assert parallel.fingerprint == serial.fingerprint == parallel.live_fingerprint, name
            assert any(f"folded {end}/{end} entries" in line for line in lines)
        assert store.fingerprint() == serial.fingerprint
        assert live_differences(store, projection, sqlite_app, nids) == []


def test_a_rebuild_beside_another_thread_spawns_its_workers_and_equals_the_serial_one(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nids = [f"talks-{k}" for k in range(5)]
    record_history(sqlite_app, nids, [(k % 5, k, k) for k in range(60)])
    end = relay.catch_up()
    store = ViewStore(client, prefix, "negotiation")
    serial = rebuild(client, store, STORED["negotiation"], relay.stream, workers=1)
    contexts: list[str] = []
    chosen = multiprocessing.get_context

    def noted(method: str | None = None) -> Any:
        contexts.append(str(method))
        return chosen(method)

    monkeypatch.setattr(multiprocessing, "get_context", noted)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        parallel = rebuild(client, store, STORED["negotiation"], relay.stream, workers=2)
    finally:
        stop.set()
        other.join()
    assert contexts == ["spawn"]
    assert parallel.position == serial.position == end
    assert parallel.fingerprint == serial.fingerprint == parallel.live_fingerprint
