"""The intake consumer on real Redis and a real SQLite store, run in this process: entries in,
events recorded once, every entry answered, refusals dead-lettered, nothing left pending."""

from __future__ import annotations

from collections import Counter

import pytest
from redis import Redis

from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import NID
from tests.integration.intake.support import (
    pending,
    read_stream,
    run_intake_until,
    settled,
    xadd_all,
)
from tests.unit.intake.entry_cases import (
    MAX_BYTES,
    OTHER,
    Fields,
    bad_entries,
    entry,
    setup_events,
    valid_note,
)

VALID = 1000
INVALID = 200


@pytest.fixture
def settings(redis_settings: Settings) -> Settings:
    return redis_settings.model_copy(update={"intake_max_bytes": MAX_BYTES})


def mixed_entries() -> tuple[list[Fields], list[str | None]]:
    """The setup, then valid notes with bad entries among them; beside each entry the code it
    must be refused with (None: it must be recorded)."""
    setup = setup_events()
    entries: list[Fields] = [entry(e) for e in setup]
    codes: list[str | None] = [None] * len(setup)
    bad = list(bad_entries().values())
    notes = (valid_note(i, NID if i % 2 else OTHER) for i in range(VALID - len(setup)))
    for i in range(VALID - len(setup) + INVALID):
        if i % 5 == 4 and len(codes) - codes.count(None) < INVALID:
            fields, code = bad[i % len(bad)]
            entries.append(fields)
            codes.append(code)
        else:
            entries.append(entry(next(notes)))
            codes.append(None)
    assert codes.count(None) == VALID
    assert len(codes) == VALID + INVALID
    return entries, codes


def test_intake_records_valid_entries_and_dead_letters_invalid_ones(
    settings: Settings, streams: Streams, redis: Redis, app: Negotiations
) -> None:
    entries, codes = mixed_entries()
    ids = xadd_all(redis, streams.intake, entries)  # before the consumer group exists
    expected = dict(zip(ids, codes, strict=True))

    run_intake_until(settings, app, lambda: settled(redis, streams, len(ids)), timeout=60)

    assert app.max_position() == VALID
    assert len(app.history(NID)) + len(app.history(OTHER)) == VALID
    results = read_stream(redis, streams.intake_results)
    assert len(results) == VALID + INVALID
    assert {r["entry_id"] for r in results} == set(ids)
    for r in results:
        wanted = expected[r["entry_id"]]
        assert r["status"] == ("recorded" if wanted is None else "refused"), r
        assert r.get("code") == wanted, r
    dead = read_stream(redis, streams.intake_dead)
    assert len(dead) == INVALID
    assert Counter(d["error_code"] for d in dead) == Counter(c for c in codes if c)
    assert all(d["error_message"] and expected[d["entry_id"]] == d["error_code"] for d in dead)
    summarised = codes.count("entry_too_large")
    assert sum("event" in d for d in dead) == INVALID - codes.count("empty_entry") - summarised
    assert sum("event_sha256" in d for d in dead) == summarised > 0
    assert pending(redis, streams) == 0


def test_results_go_to_the_reply_stream_named_in_the_entry(
    settings: Settings, streams: Streams, redis: Redis, app: Negotiations
) -> None:
    replies = f"{settings.prefix}:intake:reply:client-1"
    opening = entry(setup_events()[0], reply_to=replies)
    bad_fields, _ = bad_entries()["not JSON"]
    ids = xadd_all(redis, streams.intake, [opening, {**bad_fields, "reply_to": replies.encode()}])

    run_intake_until(settings, app, lambda: settled(redis, streams, 2, replies))

    answers = read_stream(redis, replies)
    assert [(a["entry_id"], a["status"]) for a in answers] == [
        (ids[0], "recorded"),
        (ids[1], "refused"),
    ]
    assert answers[0]["negotiation_id"] == NID
    assert answers[1]["code"] == "invalid_json"
    assert redis.ttl(replies) > 0
    assert redis.xlen(streams.intake_results) == 0
    assert [d["entry_id"] for d in read_stream(redis, streams.intake_dead)] == [ids[1]]


def test_a_resent_entry_with_the_same_idempotency_key_records_once(
    settings: Settings, streams: Streams, redis: Redis, app: Negotiations
) -> None:
    note = entry(valid_note(1), idempotency_key="publisher-note-1")
    ids = xadd_all(redis, streams.intake, [entry(setup_events()[0]), note, note, note])

    run_intake_until(settings, app, lambda: settled(redis, streams, len(ids)))

    assert app.max_position() == 2
    results = read_stream(redis, streams.intake_results)
    assert [r["duplicate"] for r in results] == ["false", "false", "true", "true"]
    assert len({r["event_id"] for r in results[1:]}) == 1
    assert app.history(NID)[-1].draft.idempotency_key == "publisher-note-1"


def test_an_entry_that_keeps_failing_goes_to_the_dead_stream_after_max_deliveries(
    settings: Settings,
    streams: Streams,
    redis: Redis,
    app: Negotiations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[str] = []

    def broken_store(*args: object, **kwargs: object) -> None:
        attempts.append("save")
        raise OSError("disk unplugged")

    monkeypatch.setattr(app, "save", broken_store)
    flaky = settings.model_copy(update={"intake_max_deliveries": 2, "intake_claim_idle_ms": 100})
    (entry_id,) = xadd_all(redis, streams.intake, [entry(setup_events()[0])])

    run_intake_until(flaky, app, lambda: settled(redis, streams, 1, streams.intake_dead))

    (dead,) = read_stream(redis, streams.intake_dead)
    assert dead["entry_id"] == entry_id
    assert dead["error_code"] == "delivery_limit"
    message = dead["error_message"]
    assert "StoreUnavailable: the sqlite event store is unavailable (disk unplugged)" in message
    assert "event" in dead
    assert len(attempts) == 2
    assert [r["code"] for r in read_stream(redis, streams.intake_results)] == ["delivery_limit"]
    assert redis.hlen(streams.intake_failures) == 0
    assert pending(redis, streams) == 0
    assert app.max_position() == 0
