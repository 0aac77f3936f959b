"""`reply_to` is the publisher's input: whatever it names, the intake must neither damage
talkstream's own streams nor leave the entry pending for ever."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from redis import Redis

from services.recorder.application import Negotiations
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


@pytest.mark.parametrize("name", ["events", "intake", "intake_dead", "changes", "checkpoints"])
def test_a_reply_to_naming_a_talkstream_stream_leaves_that_stream_alone(
    redis_settings: Settings, redis: Redis, app: Negotiations, name: str
) -> None:
    streams = Streams(redis_settings.prefix)
    target = getattr(streams, name)
    if target != streams.intake:
        redis.xadd(target, {"seed": "1"}, id="1-0")
    before = redis.xrange(target)
    ids = xadd_all(redis, streams.intake, [entry(setup_events()[0], reply_to=target)])

    run_intake_until(
        redis_settings,
        app,
        lambda: bool(redis.exists(streams.intake_results)) and pending(redis, streams) == 0,
        timeout=10,
    )

    assert redis.ttl(target) == -1, f"{target} was given an expiry"
    after = redis.xrange(target)
    if target == streams.intake:  # trimmed of the answered entry, and nothing added
        assert {i.decode() for i, _ in after} <= set(ids)
    else:
        assert after == before, f"the result was written into {target}"
    assert [r["status"] for r in read_stream(redis, streams.intake_results)] == ["recorded"]


def test_a_reply_to_naming_a_key_of_another_type_is_settled_once_and_its_batch_answered_once(
    redis_settings: Settings, redis: Redis, app: Negotiations
) -> None:
    streams = Streams(redis_settings.prefix)
    taken = f"{redis_settings.prefix}:intake:reply:taken"
    redis.set(taken, "not a stream")
    entries = [
        entry(setup_events()[0]),
        entry(valid_note(1), reply_to=taken),
        entry(valid_note(2)),
    ]
    ids = xadd_all(redis, streams.intake, entries)
    fast = redis_settings.model_copy(
        update={"intake_max_deliveries": 2, "intake_claim_idle_ms": 100}
    )

    with contextlib.suppress(TimeoutError):
        run_intake_until(fast, app, lambda: settled(redis, streams, 2), timeout=3)

    answers = Counter(r["entry_id"] for r in read_stream(redis, streams.intake_results))
    dead = redis.xlen(streams.intake_dead)
    stuck = redis.xpending_range(streams.intake, streams.intake_group, "-", "+", 10)
    assert stuck == [], f"still pending: {stuck}; answers {dict(answers)}; {dead} dead letters"
    assert answers[ids[0]] == answers[ids[2]] == 1, answers
    assert dead <= 1
