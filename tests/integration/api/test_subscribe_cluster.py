"""``GET /v1/subscribe`` on a 3-primary Redis Cluster with 6 partitions: one subscriber gets
the changes of every partition, each event's id the vector of the partitions' last entry IDs;
resuming from a vector in the middle gets every change after it, those made while it was away
included, and no other; a Last-Event-ID that is no vector of this deployment is a 422."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.recorder.application import Negotiations
from services.runtime.bootstrap import build_api_context
from services.settings import Settings
from services.wire.feed import Vector
from tests.integration.api.conftest import Served, bearer, role_keys, serving
from tests.integration.cluster_feed import announce, announced
from tests.redis_cluster import LocalCluster, running_cluster

PARTITIONS = 6
PREFIX = "talkstream"
WAIT = 30.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    with running_cluster(tmp_path / "cluster") as started:
        yield started


@pytest.fixture
def served(
    sqlite_app: Negotiations, redis_settings: Settings, cluster: LocalCluster
) -> Iterator[Served]:
    """The API alone (no workers) on the cluster; the tests announce changes themselves."""
    settings = redis_settings.model_copy(
        update={
            "redis_url": cluster.url,
            "partitions": PARTITIONS,
            "prefix": PREFIX,
            "sse_heartbeat": 0.5,  # a line at least this often: a missing change fails in time
        }
    )
    ctx = build_api_context(settings, cluster.url, sqlite_app)
    try:
        with serving(ctx, cluster.url, workers=False) as (url, server):
            yield Served(url, ctx, role_keys(ctx), server)
    finally:
        ctx.redis.close()


@contextmanager
def events(served: Served, last_event_id: str | None = None) -> Iterator[Iterator[Any]]:
    """The stream's CloudEvents as (SSE id, CloudEvent) pairs, read as they come; reading
    fails once ``WAIT`` seconds have passed."""
    headers = bearer(served.keys["reader"])
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(base_url=served.url, timeout=httpx.Timeout(10, read=30)) as client,
        client.stream(
            "GET", "/v1/subscribe", params={"format": "cloudevents"}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200, response.read()

        def frames() -> Iterator[tuple[str, dict[str, Any]]]:
            fields: dict[str, str] = {}
            deadline = time.monotonic() + WAIT
            for line in response.iter_lines():
                assert time.monotonic() < deadline, f"the changes did not come in {WAIT} s"
                if line == "" and fields.get("event") == "cloudevent":
                    yield fields["id"], json.loads(fields["data"])
                if line == "":
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value

        yield frames()


def take(frames: Iterator[tuple[str, dict[str, Any]]], count: int) -> list[tuple[str, Any]]:
    return [next(frames) for _ in range(count)]


def test_a_subscriber_gets_every_partitions_changes_and_resumes_from_a_vector(
    served: Served, sqlite_app: Negotiations
) -> None:
    redis = served.ctx.redis
    with events(served) as frames:
        announce(sqlite_app, redis, PREFIX, PARTITIONS, [f"talks-{k}" for k in range(8)], 40)
        first = announced(redis, PREFIX, PARTITIONS)
        got = take(frames, len(first))
    ids = [event["id"] for _, event in got]
    assert sorted(ids) == sorted(first), "each change once, whatever its partition"
    assert len({i.split("-")[0] for i in ids}) >= 3, "the changes came from several partitions"
    vectors = [Vector.parse(sse_id, PARTITIONS) for sse_id, _ in got]
    assert all(b.covers(a) for a, b in itertools.pairwise(vectors))
    for (_, event), vector in zip(got, vectors, strict=True):  # the id says where it came from
        k, _, entry = event["id"].partition("-")
        assert "-".join(map(str, vector.entries[int(k)])) == entry

    middle, _ = got[len(got) // 2]
    announce(sqlite_app, redis, PREFIX, PARTITIONS, [f"later-{k}" for k in range(8)], 40)
    missed = announced(redis, PREFIX, PARTITIONS, after=Vector.parse(middle, PARTITIONS))
    assert set(missed) - set(first), "changes were made while it was away"
    with events(served, last_event_id=middle) as frames:
        resumed = [event["id"] for _, event in take(frames, len(missed))]
    assert sorted(resumed) == sorted(missed)


MALFORMED = {
    "1700000000000-0": "expected a vector of partition positions",  # one server's kind of id
    "1700000000000_0_1_2": "expected 6 partition positions",
    "1700000000000_0_1_x_3_4_5": "partition 2",
    "1700000000000_0_1_2_3-_4_5": "partition 3",
    "x" * 9000: "8192",
}


def test_a_last_event_id_that_is_no_vector_of_the_deployment_or_beyond_an_end_is_422(
    served: Served,
) -> None:
    ahead = Vector.start(PARTITIONS).advanced(4, (9_999_999_999_999, 0)).text
    with httpx.Client(base_url=served.url, timeout=10) as client:

        def error(last_event_id: str) -> dict[str, Any]:
            headers = {**bearer(served.keys["reader"]), "Last-Event-ID": last_event_id}
            answer = client.get("/v1/subscribe", headers=headers)
            assert answer.status_code == 422, last_event_id
            return dict(answer.json()["error"])

        for last_event_id, reason in MALFORMED.items():
            refused = error(last_event_id)
            assert refused["code"] in {"invalid_header", "invalid_request"}, refused
            assert "last-event-id" in refused["message"].lower(), refused
            assert reason in refused["message"], refused
        beyond = error(ahead)
    assert beyond["code"] == "last_event_id_beyond_end"
    assert "partition 4" in beyond["message"] and beyond["details"]["partition"] == 4
