"""The webhook deliverer on a 3-primary Redis Cluster with 6 partitions: it delivers the
changes of every partition, each once, signed, each negotiation's in order; its cursor (a
vector of every partition's, in Redis) survives a restart, so the next deliverer delivers the
changes made meanwhile and none again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from services.recorder.application import Negotiations
from services.runtime.runner import build_deliverer
from services.settings import Settings
from services.wire.connect import connect
from services.wire.feed import Vector
from services.wire.hooks import Hooks
from tests.integration.cluster_feed import announce, announced
from tests.redis_cluster import LocalCluster, running_cluster
from tests.waiting import wait_for

PARTITIONS = 6
PREFIX = "talkstream"
Received = list[tuple[dict[str, str], bytes]]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path / "cluster") as started:
        yield started


def delivering(settings: Settings, url: str, got: Received, count: int) -> None:
    """A deliverer runs until ``count`` deliveries have arrived, then stops."""
    deliverer = build_deliverer(settings, url)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(got) >= count, 30, f"{count} deliveries")
    finally:
        stop.set()
        thread.join(timeout=10)
        deliverer.client.close()


def test_webhooks_on_cluster_come_from_every_partition_and_resume_after_a_restart(
    sqlite_app: Negotiations,
    redis_settings: Settings,
    cluster: LocalCluster,
    receiver: tuple[str, Received],
) -> None:
    target, got = receiver
    settings = redis_settings.model_copy(
        update={
            "redis_url": cluster.url,
            "partitions": PARTITIONS,
            "prefix": PREFIX,
            "hooks_allow_private": True,
            "hooks_poll_interval": 0.05,
        }
    )
    redis = connect(cluster.url)
    hooks = Hooks(redis, PREFIX, partitions=PARTITIONS)
    hook = hooks.add(target, allow_private=True)
    announce(sqlite_app, redis, PREFIX, PARTITIONS, [f"talks-{k}" for k in range(8)], 30)
    first = announced(redis, PREFIX, PARTITIONS)
    delivering(settings, cluster.url, got, len(first))

    cursor = Vector.parse(hooks.cursor(hook.id), PARTITIONS)
    assert announced(redis, PREFIX, PARTITIONS, after=cursor) == {}, "the cursor is at the end"
    announce(sqlite_app, redis, PREFIX, PARTITIONS, [f"later-{k}" for k in range(8)], 30)
    later = announced(redis, PREFIX, PARTITIONS, after=cursor)
    delivering(settings, cluster.url, got, len(first) + len(later))
    redis.close()

    events = [Webhook(hook.secret).verify(body, headers) for headers, body in got]
    ids = [headers["webhook-id"] for headers, _ in got]
    assert ids == [event["id"] for event in events]
    assert sorted(ids) == sorted({**first, **later}), "every change once, none again"
    assert len({i.split("-")[0] for i in ids}) >= 3, "from several partitions"
    positions: dict[str, list[int]] = {}
    for event in events:
        data: dict[str, Any] = event["data"]
        positions.setdefault(f"{data['negotiation_id']}/{data['projection']}", []).append(
            data["position"]
        )
    assert all(p == sorted(p) for p in positions.values()), "each negotiation's in order"
