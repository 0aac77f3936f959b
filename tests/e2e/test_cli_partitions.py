"""The commands with ``TALKSTREAM_PARTITIONS``: ``project --partitions`` splits the partitions
between processes, on one Redis and on a Redis Cluster (where ``project`` runs the pollers, and
``deliver`` refuses the cluster URL in one line); a bad partition list is one error line.
``intake`` and ``up`` on a cluster: tests/e2e/test_up_cluster.py."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from projections.live.partitioned import PartitionedViews
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.connect import connect
from tests.e2e.helpers import TALKSTREAM, Runner, as_json, ok, one_error_line
from tests.redis_cluster import LocalCluster, cluster_server


@contextmanager
def started(runner: Runner, env: dict[str, str], *commands: list[str]) -> Iterator[None]:
    processes = [
        subprocess.Popen(
            [str(TALKSTREAM), *args],
            cwd=runner.base,
            env=runner.environment(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for args in commands
    ]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _stored(runner: Runner) -> int:
    app = build_application(Settings(home=runner.home))
    try:
        return app.max_position()
    finally:
        app.close()


def _wait_served(views: PartitionedViews, position: int) -> None:
    deadline = time.monotonic() + 60
    while views.tracked(views.generation()) < position:
        assert time.monotonic() < deadline, "the partition workers did not catch up"
        time.sleep(0.1)


def test_two_projectors_splitting_four_partitions_serve_the_scenario(
    tmp_path: Path, redis_url: str, prefix: str
) -> None:
    runner = Runner(tmp_path)
    env = {
        "TALKSTREAM_REDIS_URL": redis_url,
        "TALKSTREAM_PREFIX": prefix,
        "TALKSTREAM_PARTITIONS": "4",
    }
    ok(runner("demo", "--no-serve", env=env))
    end = _stored(runner)
    client = connect(redis_url)
    views = PartitionedViews(client, prefix, "negotiation", 4)
    split = (["relay"], ["project", "--partitions", "0-1"], ["project", "--partitions", "2,3"])
    with started(runner, env, *split):
        _wait_served(views, end)
    view = as_json(runner("view", "negotiation", "us-iraq-jscd", env=env))
    assert view["position"] == end and view["view"] is not None
    replayed = ok(runner("replay", "--projection", "negotiation", env=env)).stdout
    assert "(equal)" in replayed
    ok(runner("audit", "verify", env=env))  # the partition streams, merged, equal the store
    client.close()


def test_a_partition_outside_the_count_is_one_error_line(tmp_path: Path, redis_url: str) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PARTITIONS": "4"}
    line = one_error_line(Runner(tmp_path)("project", "--partitions", "2-4", env=env))
    assert "invalid_partitions" in line and "--partitions" in line


def test_on_redis_cluster_project_polls(tmp_path: Path) -> None:
    binary = cluster_server()
    if binary is None:
        pytest.skip("no redis-server 7 or later to run a cluster with")
    cluster = LocalCluster(binary, tmp_path / "cluster")
    try:
        cluster.start()
        runner = Runner(tmp_path)
        ok(runner("demo", "--no-serve"))  # the store only
        env = {"TALKSTREAM_REDIS_URL": cluster.url, "TALKSTREAM_PARTITIONS": "6"}
        end = _stored(runner)
        client = connect(cluster.url)
        views = PartitionedViews(client, "talkstream", "negotiation", 6)
        with started(runner, env, ["relay"], ["project"]):
            _wait_served(views, end)
        view = as_json(runner("view", "negotiation", "us-iraq-jscd", env=env))
        assert view["position"] == end and view["view"] is not None
        client.close()
    finally:
        cluster.stop()
