"""The FastStream projection workers, run in this process: catching up at start, and serving
on while a rebuild switches generations under them."""

from __future__ import annotations

from typing import Any

from redis import Redis

from projections.live.apply import Applier
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS, STORED
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.wire.streams import Streams
from tests.integration.projections.support import Background, live_differences, running, write_notes
from tests.waiting import wait_for

NEGOTIATION = PROJECTIONS["negotiation"]


def record_deliveries(applier: Applier) -> list[int]:
    """The positions the consumer group's deliveries asked the applier to reach (each batch
    delivery first asks whether the applier already covers its last position)."""
    delivered: list[int] = []
    inner = applier.covers

    def covers(position: int) -> bool:
        delivered.append(position)
        return inner(position)

    applier.covers = covers  # type: ignore[method-assign]
    return delivered


def test_workers_started_after_events_were_written_catch_up(
    sqlite_app: Negotiations, relay: Relay, redis_url: str, client: Redis, prefix: str
) -> None:
    nids = ["talks-a", "talks-b", "talks-c"]
    write_notes(sqlite_app, nids, 900, 150)
    end = relay.catch_up()
    assert client.xinfo_groups(relay.stream) == []
    app, _, appliers = build_projectors(redis_url, prefix, batch=100)
    delivered = {name: record_deliveries(a) for name, a in appliers.items()}

    def settled() -> bool:
        groups: Any = client.xinfo_groups(relay.stream)
        return all(a.store.tracked(a.store.generation()) == end for a in appliers.values()) and (
            len(groups) == len(appliers) and all(g["pending"] == 0 for g in groups)
        )

    with running(app):
        wait_for(settled, 30, "every projection to apply and acknowledge the whole stream")

    groups = {g["name"].decode(): g for g in client.xinfo_groups(relay.stream)}
    assert sorted(groups) == sorted(Streams(prefix).projection_group(name) for name in STORED)
    for name, applier in appliers.items():
        # Created at 0: the entries written before the group existed were delivered too.
        group = groups[Streams(prefix).projection_group(name)]
        assert group["last-delivered-id"] == f"{end}-0".encode()
        assert end in delivered[name], name
        assert live_differences(applier.store, applier.projection, sqlite_app, nids) == []


def test_rebuild_switches_atomically_while_a_worker_keeps_serving(
    sqlite_app: Negotiations, relay: Relay, redis_url: str, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{k}" for k in range(5)]
    store = ViewStore(client, prefix, "negotiation")
    app, _, _ = build_projectors(redis_url, prefix, projections={"negotiation": NEGOTIATION})
    writer = Background(
        write_notes, sqlite_app, nids, 6000, 100, after_batch=relay.catch_up, pause=0.01
    )
    with running(app):
        writer.start()
        wait_for(lambda: store.tracked(store.generation()) > 1000, 30, "the worker to serve")
        old = store.generation()
        rebuilt = rebuild(client, store, NEGOTIATION, relay.stream)
        switched_at = store.tracked(rebuilt.generation)
        writer.outcome()
        end = relay.catch_up()
        wait_for(lambda: store.tracked(store.generation()) == end, 30, "the worker to finish")
        served = store.generation()
        live = store.fingerprint()

    assert served == rebuilt.generation != old
    assert switched_at < end, "the rebuild only switched after the writes had ended"
    assert rebuilt.dropped_keys > 0
    assert list(client.scan_iter(match=f"{store.base}:{old}:*")) == []
    assert live_differences(store, NEGOTIATION, sqlite_app, nids) == []
    again = rebuild(client, store, NEGOTIATION, relay.stream)
    assert again.fingerprint == live == again.live_fingerprint
