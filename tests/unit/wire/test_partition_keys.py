"""The partition function and the partitioned key names: stable, in range, spread; one
partition keeps today's names; a partition's keys share one Redis Cluster hash tag."""

from __future__ import annotations

from collections import Counter

import pytest
from redis.crc import key_slot

from services.exceptions import InvalidSettings
from services.settings import Settings, load_settings
from services.wire.exceptions import BadPartitions
from services.wire.partitions import parse_spec, partition_of
from services.wire.streams import Streams


def test_partition_of_is_the_documented_sha256_prefix_modulo_the_count() -> None:
    # the definition, spelled out: a change of the function would move every negotiation
    import hashlib

    digest = hashlib.sha256(b"us-iraq-jscd").digest()
    assert partition_of("us-iraq-jscd", 6) == int.from_bytes(digest[:8], "big") % 6
    assert partition_of("anything", 1) == 0


def test_negotiations_spread_over_every_partition() -> None:
    counts = Counter(partition_of(f"talks-{k}", 4) for k in range(400))
    assert sorted(counts) == [0, 1, 2, 3]
    assert min(counts.values()) > 60


def test_one_partition_keeps_todays_key_names() -> None:
    (only,) = Streams("ts").partitions(1)
    assert only.events == "ts:events"
    assert only.changes == "ts:changes"
    assert only.view("negotiation").generation == "ts:view:negotiation:gen"


def test_every_key_of_a_partition_is_in_one_cluster_slot() -> None:
    part = Streams("ts").partitions(6)[3]
    keys = [
        part.events,
        part.relayed_through,
        part.partition_changes,
        part.view("negotiation").generation,
        part.view("negotiation").served,
        part.view("negotiation").tracked("abc"),
        part.view("negotiation").state("abc", "talks-1"),
        part.view("negotiation").waiting("abc", "talks-1"),
        part.events_moved_aside("20250101T000000Z"),
    ]
    assert part.events == "ts:{ts.3}:events"
    assert len({key_slot(k.encode()) for k in keys}) == 1


@pytest.mark.parametrize(
    ("spec", "chosen"),
    [(None, [0, 1, 2, 3]), ("0,1", [0, 1]), ("1-3", [1, 2, 3]), ("0,2-3", [0, 2, 3])],
)
def test_a_partition_list_names_partitions(spec: str | None, chosen: list[int]) -> None:
    assert parse_spec(spec, 4) == chosen


@pytest.mark.parametrize("spec", ["4", "a", "2-1", "0,", "-1"])
def test_a_bad_partition_list_is_refused_naming_the_option(spec: str) -> None:
    with pytest.raises(BadPartitions, match="--partitions"):
        parse_spec(spec, 4)


def test_redis_cluster_without_partitions_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALKSTREAM_REDIS_URL", "redis+cluster://127.0.0.1:7000")
    with pytest.raises(InvalidSettings, match="TALKSTREAM_PARTITIONS"):
        load_settings()
    monkeypatch.setenv("TALKSTREAM_PARTITIONS", "2")
    assert load_settings().partitions == 2
    assert Settings().partitions == 2
