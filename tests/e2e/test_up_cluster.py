"""``talkstream intake`` and ``talkstream up`` on a 3-primary Redis Cluster (where they run
pollers instead of FastStream): the intake process records the scenario written to the intake
stream and dead-letters a refused entry; ``up`` takes writes over HTTP and through the intake
stream, serves the views over HTTP, announces the changes on its feed and to a webhook, and is
ready."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from services.recorder.jsonl import scenario_lines
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.connect import connect
from services.wire.streams import Streams
from tests.e2e.helpers import SCENARIO_ID, Runner, bearer_client, ok, serving
from tests.processes import TalkstreamProcess
from tests.redis_cluster import LocalCluster, running_cluster
from tests.waiting import wait_for
from tests.webhook_target import Received, webhook_target

STREAMS = Streams("talkstream")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path / "cluster") as started:
        yield started


@pytest.fixture
def redis(cluster: LocalCluster) -> Iterator[Redis]:
    client = connect(cluster.url)
    yield client
    client.close()


def on_cluster(cli: Runner, cluster: LocalCluster) -> dict[str, str]:
    return cli.environment(
        {
            "TALKSTREAM_REDIS_URL": cluster.url,
            "TALKSTREAM_PARTITIONS": "6",
            "TALKSTREAM_HOOKS_ALLOW_PRIVATE": "1",
        }
    )


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received]]:
    with webhook_target() as target:
        yield target


def scenario() -> list[str]:
    return list(scenario_lines())


def stored(cli: Runner) -> int:
    app = build_application(Settings(home=cli.home))
    try:
        return app.max_position()
    finally:
        app.close()


def test_the_intake_process_records_the_scenario_on_redis_cluster(
    tmp_path: Path, cli: Runner, cluster: LocalCluster, redis: Redis
) -> None:
    events = scenario()
    for line in [*events, "not json"]:
        redis.xadd(STREAMS.intake, {"event": line})
    intake = TalkstreamProcess("intake", on_cluster(cli, cluster), tmp_path / "intake.log")
    try:
        wait_for(
            lambda: redis.xlen(STREAMS.intake_results) == len(events) + 1 or not intake.alive(),
            60,
            "the intake to answer every entry",
        )
        assert intake.alive(), intake.output()
    finally:
        code = intake.terminate()
    assert code == 0, intake.output()
    assert "intake on Redis Cluster" in intake.output()
    assert stored(cli) == len(events)
    (dead,) = redis.xrange(STREAMS.intake_dead)
    assert dead[1][b"error_code"] != b"delivery_limit"
    assert int(redis.xpending(STREAMS.intake, STREAMS.intake_group)["pending"]) == 0


def test_up_on_redis_cluster_records_over_http_and_the_intake_and_serves_views(
    tmp_path: Path,
    cli: Runner,
    cluster: LocalCluster,
    redis: Redis,
    receiver: tuple[str, Received],
) -> None:
    env = on_cluster(cli, cluster)
    target, delivered = receiver
    ok(cli("hooks", "add", target, "--view", "negotiation", env=env))
    publisher = ok(cli("keys", "create", "--role", "publisher", "--name", "pub", env=env)).stdout
    reader = ok(cli("keys", "create", "--role", "reader", "--name", "read", env=env)).stdout
    events = [json.loads(line) for line in scenario()]
    half = len(events) // 2
    reply = STREAMS.intake_reply("e2e")
    with serving(tmp_path, env) as up:
        with bearer_client(up.url, publisher) as client:
            assert client.post("/v1/negotiations", json=events[0]).status_code == 201
            for event in events[1:half]:
                written = client.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
                assert written.status_code == 201, written.text
        with (
            bearer_client(up.url, reader) as client,
            client.stream("GET", "/v1/subscribe") as feed,
        ):
            for event in events[half:]:
                redis.xadd(STREAMS.intake, {"event": json.dumps(event), "reply_to": reply})
            first = next(line for line in feed.iter_lines() if line.startswith("id: "))
        wait_for(lambda: redis.xlen(reply) == len(events) - half, 60, "the intake's answers")
        with bearer_client(up.url, reader) as client:
            state = client.get(
                f"/v1/negotiations/{SCENARIO_ID}", params={"min_position": len(events)}
            )
            ready = client.get("/readyz")
        wait_for(lambda: _delivered_through(delivered, len(events)), 60, "the webhooks")
        up.stop()
    answers = [fields[b"status"] for _, fields in redis.xrange(reply)]
    assert answers == [b"recorded"] * (len(events) - half)
    assert state.status_code == 200, state.text
    assert state.json()["source"] == "live"
    assert state.json()["view"]["version"] == len(events)
    assert ready.status_code == 200, ready.text
    assert first.count("_") == 6  # a change's id on Cluster: the vector of 6 partitions
    assert "stopped cleanly" in up.stderr()


def _delivered_through(received: Received, position: int) -> bool:
    """Whether a webhook announced the scenario's negotiation view at ``position``."""
    return any(json.loads(body)["data"]["position"] == position for _, body in received)
