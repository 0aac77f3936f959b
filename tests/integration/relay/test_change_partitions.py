"""Changing the partition count (README, "Partitions and Redis Cluster"):
with the relays and workers stopped, ``relay --rebuild-stream --force`` under the new
``TALKSTREAM_PARTITIONS`` republishes the store into the new partition streams and rebuilds
every view there; nothing is lost and the views equal a rebuild, then serve on."""

from __future__ import annotations

from redis import Redis

from projections.live.partitioned import PartitionedViews
from projections.live.store import ViewStore
from projections.live.worker import partition_appliers
from projections.views import PROJECTIONS, STORED
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.runtime import live
from services.runtime.repair import rebuild_stream
from services.settings import Settings
from services.wire.partitions import partition_of
from services.wire.streams import Streams
from tests.factories import note
from tests.integration.projections.support import live_differences, write_notes


def _apply_all(client: Redis, prefix: str, count: int) -> None:
    for applier in partition_appliers(
        client, prefix, partitions=range(count), count=count
    ).values():
        applier.apply_through()


def test_going_from_one_partition_to_three_loses_nothing_and_views_equal_a_rebuild(
    redis_settings: Settings, sqlite_app: Negotiations, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{k}" for k in range(15)]
    write_notes(sqlite_app, nids, 450, 15)
    end = partitioned.build(sqlite_app, client, prefix=prefix, partitions=1).catch_up()
    _apply_all(client, prefix, 1)
    before = {name: ViewStore(client, prefix, name).fingerprint() for name in STORED}

    three = redis_settings.model_copy(update={"partitions": 3})
    repaired = rebuild_stream(three, force=True)

    parts = Streams(prefix).partitions(3)
    assert repaired.published == end == sqlite_app.max_position()
    assert sum(int(client.xlen(p.events)) for p in parts) == end
    for k, part in enumerate(parts):
        for _, fields in client.xrange(part.events):
            assert partition_of(fields[b"negotiation_id"].decode(), 3) == k
    for name in STORED:
        views = PartitionedViews(client, prefix, name, 3)
        assert views.tracked(views.generation()) == end
        assert views.fingerprint() == before[name], f"{name} changed with the partitions"

    relay = partitioned.build(sqlite_app, client, prefix=prefix, partitions=3)
    for nid in nids[:5]:
        sqlite_app.record_many([note(f"after {k}", nid=nid) for k in range(12)], principal="t")
        relay.catch_up()
    _apply_all(client, prefix, 3)
    for projection in STORED.values():
        views = PartitionedViews(client, prefix, projection.name, 3)
        served = views.fingerprint()
        assert live.replay(three, projection, progress=lambda _: None).fingerprint == served
        assert live_differences(views, projection, sqlite_app, nids) == []  # type: ignore[arg-type]
    assert live.read_view(three, PROJECTIONS["negotiation"], "talks-2")["view"] is not None
