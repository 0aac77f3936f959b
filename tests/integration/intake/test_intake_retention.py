"""What the intake keeps: an oversize entry is dead-lettered as a digest, its size and its first
kilobyte (not a second copy), and the intake stream is trimmed of what every consumer group
acknowledged, on the embedded Redis 6.2 as on the shared server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from services.intake.retention import trim_acknowledged
from services.recorder.application import Negotiations
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.streams import Streams
from tests.integration.intake.support import (
    pending,
    read_stream,
    run_intake_until,
    settled,
    xadd_all,
)
from tests.unit.intake.entry_cases import entry, setup_events, valid_note

HEAD = 1024


@pytest.fixture
def settings(redis_settings: Settings) -> Settings:
    return redis_settings.model_copy(update={"intake_trim_seconds": 0})


def test_an_oversize_entry_is_dead_lettered_as_digest_size_and_first_kilobyte(
    settings: Settings, redis: Redis, app: Negotiations
) -> None:
    streams = Streams(settings.prefix)
    padding = "x" * 20_000_000
    event = json.dumps({**valid_note(1), "padding": padding}).encode()
    fields = entry(event, reply_to=f"{settings.prefix}:intake:reply:big", idempotency_key="big-1")
    (big_id,) = xadd_all(redis, streams.intake, [fields])
    replies = f"{settings.prefix}:intake:reply:big"

    run_intake_until(settings, app, lambda: settled(redis, streams, 1, replies))

    (dead,) = redis.xrange(streams.intake_dead)
    kept = {k.decode(): v for k, v in dead[1].items()}
    assert b"event" not in dead[1]
    assert kept["entry_id"].decode() == big_id
    assert kept["error_code"] == b"entry_too_large"
    assert kept["event_sha256"].decode() == hashlib.sha256(event).hexdigest()
    assert int(kept["event_bytes"]) == len(event)
    assert int(kept["entry_bytes"]) == sum(len(k) + len(v) for k, v in fields.items())
    assert kept["event_head"] == event[:HEAD]
    assert kept["reply_to"] == replies.encode()
    assert kept["idempotency_key"] == b"big-1"
    assert sum(len(k) + len(v) for k, v in dead[1].items()) < 4 * HEAD
    (answer,) = read_stream(redis, replies)
    assert answer["code"] == "entry_too_large"
    assert redis.xlen(streams.intake) == 0, "the answered entry is still in the intake stream"
    assert app.max_position() == 0


@pytest.fixture
def redis62(tmp_path: Path) -> Iterator[str]:
    """A private embedded Redis (the bundled 6.2 server): trimming must not need Redis 7."""
    with redis_for(Settings(home=tmp_path / "redis62", redis_url=None)) as url:
        yield url


def first_ids(redis: Redis, stream: str) -> list[str]:
    return [i.decode() for i, _ in redis.xrange(stream)]


def test_the_intake_trims_what_every_group_acknowledged_and_keeps_the_rest(
    redis62: str, redis_settings: Settings, app: Negotiations
) -> None:
    settings = redis_settings.model_copy(update={"redis_url": redis62, "intake_trim_seconds": 0})
    streams = Streams(settings.prefix)
    redis = Redis.from_url(redis62)
    assert redis.info("server")["redis_version"].startswith("6.2")
    ids = xadd_all(redis, streams.intake, [entry(e) for e in setup_events()])
    # Another reader of the intake stream: read five entries, acknowledged two.
    redis.xgroup_create(streams.intake, "audit", id="0")
    redis.xreadgroup("audit", "a1", {streams.intake: ">"}, count=5)
    redis.xack(streams.intake, "audit", ids[0], ids[1])

    run_intake_until(
        settings,
        app,
        lambda: (
            settled(redis, streams, len(ids)) and first_ids(redis, streams.intake)[:1] == [ids[2]]
        ),
    )

    assert first_ids(redis, streams.intake) == ids[2:], "trimmed past another group's pending"
    assert app.max_position() == len(ids)

    redis.xack(streams.intake, "audit", *ids[2:5])
    trim_acknowledged(redis, streams.intake)
    assert first_ids(redis, streams.intake) == ids[5:], "trimmed what was never delivered"

    redis.xgroup_create(streams.intake, "late", id="0")
    trim_acknowledged(redis, streams.intake)
    assert first_ids(redis, streams.intake) == ids[5:], "trimmed before a new group read"

    for group in ("audit", "late"):
        read = redis.xreadgroup(group, "x", {streams.intake: ">"})
        redis.xack(streams.intake, group, *[i for i, _ in read[0][1]])
    trim_acknowledged(redis, streams.intake)
    assert redis.xlen(streams.intake) == 0
    assert pending(redis, streams) == 0
    redis.close()


def test_a_stream_without_consumer_groups_is_not_trimmed(
    redis: Redis, redis_settings: Settings
) -> None:
    streams = Streams(redis_settings.prefix)
    ids = xadd_all(redis, streams.intake, [entry(e) for e in setup_events()])
    assert trim_acknowledged(redis, streams.intake) == 0
    assert trim_acknowledged(redis, streams.intake + ":missing") == 0
    assert first_ids(redis, streams.intake) == ids
