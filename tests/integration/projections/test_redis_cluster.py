"""The same code on a 3-primary Redis Cluster: with 6 partitions every script touches one
partition's slot, the relay publishes a load while pollers (the workers without FastStream)
apply it, and every view equals a rebuild."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from projections.live.partitioned import PartitionedViews
from projections.live.poller import Poller
from projections.live.rebuild import rebuild
from projections.live.store import ViewStore
from projections.views import STORED
from services.api.app import create_app
from services.api.views import ServedHead, Views
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from services.wire.connect import connect, connect_async, is_cluster
from services.wire.partitions import published_through
from services.wire.streams import Streams
from tests.integration.api.conftest import bearer, role_keys
from tests.integration.projections.support import live_differences, write_notes
from tests.redis_cluster import LocalCluster, cluster_server
from tests.threads import Background
from tests.waiting import wait_for

PARTITIONS = 6
PREFIX = "talkstream"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    binary = cluster_server()
    if binary is None:
        pytest.skip("no redis-server 7 or later to run a cluster with")
    started = LocalCluster(binary, tmp_path / "cluster")
    try:
        started.start()
        yield started
    finally:
        started.stop()


def test_a_load_on_redis_cluster_with_six_partitions_serves_views_equal_to_a_rebuild(
    sqlite_app: Negotiations, cluster: LocalCluster
) -> None:
    redis = connect(cluster.url)
    assert is_cluster(redis)
    parts = Streams(PREFIX).partitions(PARTITIONS)
    nodes = {str(redis.get_node_from_key(p.events)) for p in parts}  # type: ignore[attr-defined]
    assert len(nodes) >= 2, "the partitions all landed on one node: nothing is shown"

    relay = partitioned.build(sqlite_app, redis, prefix=PREFIX, partitions=PARTITIONS, batch=80)
    poller = Poller(redis, PREFIX, partitions=range(PARTITIONS), count=PARTITIONS, interval=0.05)
    stop = threading.Event()
    polling = Background(poller.run, stop)
    nids = [f"talks-{k}" for k in range(40)]
    polling.start()
    try:
        write_notes(sqlite_app, nids, 2400, 30, after_batch=relay.catch_up)
        end = relay.catch_up()
        views = {name: PartitionedViews(redis, PREFIX, name, PARTITIONS) for name in STORED}
        for name, view in views.items():
            wait_for(lambda v=view: v.tracked(v.generation()) == end, 60, f"{name} to catch up")
    finally:
        stop.set()
        polling.outcome(30)

    assert sum(int(redis.xlen(p.events)) for p in parts) == end == sqlite_app.max_position()
    assert published_through(redis, PREFIX, PARTITIONS) == end
    changes: Any = [int(redis.xlen(p.partition_changes)) for p in parts]
    assert all(n > 0 for n in changes), "each partition announces its changes in its slot"
    for name, view in views.items():
        live = view.fingerprint()
        for k, part in enumerate(parts):
            rebuild(redis, ViewStore(redis, PREFIX, name, partition=k), STORED[name], part.events)
        assert view.fingerprint() == live, name
        assert live_differences(view, STORED[name], sqlite_app, nids) == []  # type: ignore[arg-type]
    redis.close()


async def _served_async(views: Views, url: str) -> ServedHead | None:
    client = connect_async(url)
    try:
        return await views.served_async(client)
    finally:
        await client.aclose()


def test_the_api_reads_partitioned_views_on_redis_cluster(
    sqlite_app: Negotiations, redis_settings: Settings, cluster: LocalCluster
) -> None:
    settings = redis_settings.model_copy(
        update={"redis_url": cluster.url, "partitions": PARTITIONS, "prefix": PREFIX}
    )
    ctx = build_api_context(settings, cluster.url, sqlite_app)
    nids = [f"talks-{k}" for k in range(8)]
    write_notes(sqlite_app, nids, 80, 10)
    end = partitioned.build(sqlite_app, ctx.redis, prefix=PREFIX, partitions=PARTITIONS).catch_up()
    Poller(ctx.redis, PREFIX, partitions=range(PARTITIONS), count=PARTITIONS).step()
    reader = bearer(role_keys(ctx)["reader"])
    with TestClient(create_app(ctx), raise_server_exceptions=False) as http:
        answer = http.get(f"/v1/negotiations/talks-3?min_position={end}", headers=reader)
        assert answer.status_code == 200, answer.text
        assert answer.json()["source"] == "live" and answer.json()["position"] == end
        cached = http.get("/v1/negotiations/talks-3", headers=reader)  # ahead of the route
        assert cached.status_code == 200 and cached.content == answer.content
        listing = http.get("/v1/negotiations", headers=reader).json()
        assert [row["negotiation_id"] for row in listing["negotiations"]] == sorted(nids)
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
    views = ctx.views("negotiation")
    assert asyncio.run(_served_async(views, cluster.url)) == views.served()  # on the cluster
    ctx.redis.close()


def test_a_plain_client_is_made_for_a_plain_url(redis_url: str) -> None:
    client = connect(redis_url)
    assert isinstance(client, Redis) and not is_cluster(client)
    client.close()
