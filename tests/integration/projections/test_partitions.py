"""Events spread over partitions (``TALKSTREAM_PARTITIONS``): the relay routes each
negotiation to one partition stream, workers that split the partitions between them serve
views equal to a rebuild, and readers find each negotiation in its partition."""

from __future__ import annotations

from typing import Any

from redis import Redis

from projections.live.partitioned import PartitionedViews
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.live.worker import build_projectors
from projections.views import PROJECTIONS, STORED
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.wire.entries import position_of
from services.wire.partitions import partition_of, published_through
from services.wire.streams import Streams
from tests.integration.projections.support import live_differences, running, write_notes
from tests.waiting import wait_for

PARTITIONS = 4


def test_partitioned_streams_keep_each_negotiation_in_one_partition_in_order(
    sqlite_app: Negotiations, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{k}" for k in range(24)]
    write_notes(sqlite_app, nids, 600, 25)
    relay = partitioned.build(sqlite_app, client, prefix=prefix, partitions=PARTITIONS, batch=70)
    end = relay.catch_up()

    parts = Streams(prefix).partitions(PARTITIONS)
    seen: dict[str, list[int]] = {}
    for k, part in enumerate(parts):
        assert part.events == f"{prefix}:{{{prefix}.{k}}}:events"
        entries: Any = client.xrange(part.events)
        assert entries, f"partition {k} received nothing"
        for entry_id, fields in entries:
            nid = fields[b"negotiation_id"].decode()
            assert partition_of(nid, PARTITIONS) == k
            assert int(fields[b"position"]) == position_of(entry_id)
            seen.setdefault(nid, []).append(position_of(entry_id))
    positions = sorted(p for ps in seen.values() for p in ps)
    assert positions == list(range(1, end + 1)) and end == sqlite_app.max_position()
    assert all(ps == sorted(ps) for ps in seen.values())
    assert not client.exists(Streams(prefix).events), "P > 1 writes no unpartitioned stream"
    assert relay.catch_up() == end and relay.stats.duplicates == 0
    assert published_through(client, prefix, PARTITIONS) == end  # what /readyz compares


def test_a_relay_that_died_between_partitions_resumes_without_losing_or_doubling(
    sqlite_app: Negotiations, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{k}" for k in range(12)]
    write_notes(sqlite_app, nids, 300, 10)
    first = partitioned.build(sqlite_app, client, prefix=prefix, partitions=3, batch=100)
    first.catch_up()
    parts = Streams(prefix).partitions(3)
    # As if it died after partition 0's call of the batch after position 200: partition 1
    # lacks that batch's share and every mark still says 200.
    lost: Any = client.xrange(parts[1].events, min="201-0")
    kept: Any = client.xrange(parts[1].events, max="200-0")
    client.delete(parts[1].events)  # XDEL would keep the stream's last ID: write it anew
    for entry_id, fields in kept:
        client.xadd(parts[1].events, fields, id=entry_id)
    hash_at_200 = sqlite_app.body_of(sqlite_app.notification_page(199, 1)[0])[1]
    for part in parts:
        client.set(part.relayed_through, f"200 {hash_at_200}")

    again = partitioned.build(sqlite_app, client, prefix=prefix, partitions=3, batch=100)
    end = again.catch_up()
    assert sum(int(client.xlen(p.events)) for p in parts) == end == sqlite_app.max_position()
    assert lost and again.stats.published == len(lost)
    assert again.stats.duplicates == end - 200 - len(lost)
    assert client.xrange(parts[1].events, min="201-0") == lost


def test_workers_splitting_partitions_serve_views_equal_to_a_rebuild(
    sqlite_app: Negotiations, redis_url: str, client: Redis, prefix: str
) -> None:
    nids = [f"talks-{k}" for k in range(30)]
    relay = partitioned.build(sqlite_app, client, prefix=prefix, partitions=PARTITIONS, batch=50)
    write_notes(sqlite_app, nids, 1500, 20, after_batch=relay.catch_up)
    end = relay.catch_up()
    first, _, _ = build_projectors(
        redis_url, prefix, batch=100, partitions=[0, 1], partition_count=PARTITIONS
    )
    second, _, _ = build_projectors(
        redis_url, prefix, batch=100, partitions=[2, 3], partition_count=PARTITIONS
    )
    views = {name: PartitionedViews(client, prefix, name, PARTITIONS) for name in STORED}

    with running(first), running(second):
        for name, view in views.items():
            wait_for(lambda v=view: v.tracked(v.generation()) == end, 30, f"{name} to catch up")

    for name, view in views.items():
        live = view.fingerprint()
        for k, part in enumerate(Streams(prefix).partitions(PARTITIONS)):
            store = ViewStore(client, prefix, name, partition=k)
            rebuild(client, store, STORED[name], part.events)
        assert view.fingerprint() == live, name
        assert live_differences(view, STORED[name], sqlite_app, nids) == []  # type: ignore[arg-type]

    announced = {f[b"negotiation_id"].decode() for _, f in client.xrange(Streams(prefix).changes)}
    assert announced == set(nids), "one changes stream (SSE, webhooks) hears every partition"
    negotiation = views["negotiation"]
    gen = negotiation.generation()
    assert negotiation.negotiation_ids(gen) == sorted(nids)
    position, head = negotiation.tracked_and_head(gen, "talks-7")
    assert position == end and head is not None
    state = negotiation.load(gen, ["talks-7"])["talks-7"]
    assert state is not None
    assert state == PROJECTIONS["negotiation"].apply(None, sqlite_app.history("talks-7"))
