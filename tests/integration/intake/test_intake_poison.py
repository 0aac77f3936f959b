"""A poison entry among good ones in one batch: the good ones are recorded by that batch, not
after a claim; the bad one is dead-lettered at once with its reason (or, if it breaks the
recorder in a way that is no refusal, only it stays pending)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis import Redis

from services.intake import entries as intake_entries
from services.recorder.application import Negotiations
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import NID
from tests.integration.intake.support import pending, read_stream, run_intake_until, xadd_all
from tests.unit.intake.entry_cases import Fields, entry, setup_events, valid_note

# Far above the time the test waits: anything recorded was recorded by the first batch.
CLAIM_IDLE_MS = 600_000
WAIT_SECONDS = 60
GOOD_NOTES = 30


def huge_integer() -> Fields:
    return entry(json.dumps(valid_note(0))[:-1].encode() + b', "confidence": ' + b"9" * 5000 + b"}")


def text_payload_at_version_1() -> Fields:
    return entry({**valid_note(0), "schema_version": 1, "payload": "About 2,500 troops."})


POISONS = {
    "5,000-digit integer": (huge_integer, "number_out_of_range"),
    "text payload at schema version 1": (text_payload_at_version_1, "invalid_event"),
}


@pytest.fixture
def settings(redis_settings: Settings) -> Settings:
    return redis_settings.model_copy(update={"intake_claim_idle_ms": CLAIM_IDLE_MS})


def one_batch_with(poison: Fields) -> list[Fields]:
    """The setup, good notes, the poison among them, more good notes: fewer than one batch."""
    notes = [entry(valid_note(i)) for i in range(1, GOOD_NOTES + 1)]
    half = GOOD_NOTES // 2
    return [*(entry(e) for e in setup_events()), *notes[:half], poison, *notes[half:]]


@pytest.mark.parametrize("name", list(POISONS))
def test_a_poison_entry_is_dead_lettered_at_once_and_its_batch_recorded(
    settings: Settings, streams: Streams, redis: Redis, app: Negotiations, name: str
) -> None:
    make_poison, code = POISONS[name]
    entries = one_batch_with(make_poison())
    ids = xadd_all(redis, streams.intake, entries)
    poison_id = ids[len(setup_events()) + GOOD_NOTES // 2]
    good = len(entries) - 1

    def done() -> bool:
        return app.max_position() == good and redis.xlen(streams.intake_dead) == 1

    run_intake_until(settings, app, done, timeout=WAIT_SECONDS)

    (dead,) = read_stream(redis, streams.intake_dead)
    assert dead["entry_id"] == poison_id
    assert dead["error_code"] == code, dead
    assert dead["error_message"]
    results = {r["entry_id"]: r for r in read_stream(redis, streams.intake_results)}
    assert results.keys() == set(ids)
    assert results[poison_id]["status"] == "refused"
    assert all(r["status"] == "recorded" for i, r in results.items() if i != poison_id)
    assert pending(redis, streams) == 0


def test_an_entry_that_breaks_the_recorder_is_isolated_and_the_rest_recorded(
    settings: Settings,
    streams: Streams,
    redis: Redis,
    app: Negotiations,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unforeseen failure (here a TypeError raised for one event, standing for a bug) is not
    a refusal: that entry alone stays pending, with its failure remembered for the claimer
    (which dead-letters it after the delivery limit), and the rest of the batch is recorded."""
    real_parse = intake_entries.parse_draft

    def breaks_on_the_marked_note(event: Any) -> Any:
        if isinstance(event, dict) and event.get("payload", {}).get("text") == "Poison.":
            raise TypeError("unforeseen")
        return real_parse(event)

    monkeypatch.setattr(intake_entries, "parse_draft", breaks_on_the_marked_note)
    poison = entry({**valid_note(0), "payload": {"topic": "Troops", "text": "Poison."}})
    entries = one_batch_with(poison)
    ids = xadd_all(redis, streams.intake, entries)
    poison_id = ids[len(setup_events()) + GOOD_NOTES // 2]

    def done() -> bool:
        return app.max_position() == len(entries) - 1 and pending(redis, streams) == 1

    run_intake_until(settings, app, done, timeout=WAIT_SECONDS)

    (still_pending,) = redis.xpending_range(streams.intake, streams.intake_group, "-", "+", 10)
    assert still_pending["message_id"].decode() == poison_id
    reason = redis.hget(streams.intake_failures, poison_id)
    assert reason is not None and b"TypeError: unforeseen" in reason
    answered = {r["entry_id"] for r in read_stream(redis, streams.intake_results)}
    assert answered == set(ids) - {poison_id}
    assert len(app.history(NID)) == len(entries) - 1 - 2  # talks-b holds two of the setup
