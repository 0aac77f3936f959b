"""The intake's sync core: an entry's raw fields in, an Outcome out; a refusal stores nothing."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from services.intake.entries import Outcome, record_entries, reply_stream
from services.recorder.application import Negotiations
from services.recorder.exceptions import ConflictError
from tests.factories import NID, note
from tests.unit.intake.entry_cases import (
    MAX_BYTES,
    Fields,
    bad_entries,
    entry,
    published,
    setup_events,
)

RESULT_FIELDS = {
    "entry_id",
    "status",
    "event_id",
    "negotiation_id",
    "position",
    "version",
    "hash",
    "duplicate",
}
PREFIX = "p"
DEFAULT = "p:intake:results"


def send(app: Negotiations, entry_id: str, fields: Fields) -> Outcome:
    """Records one entry on its own."""
    [outcome] = record_entries(app, [(entry_id, fields)], max_bytes=MAX_BYTES)
    return outcome


@pytest.fixture
def foreign_event_id(memory_app: Negotiations) -> str:
    """Records the setup through entries; returns the last event's id (one of talks-b)."""
    outcomes = [send(memory_app, f"{i}-0", entry(e)) for i, e in enumerate(setup_events(), 1)]
    assert all(o.recorded for o in outcomes), [o.fields for o in outcomes]
    return outcomes[-1].fields["event_id"]


def test_a_valid_entry_is_recorded_with_its_result_fields(
    memory_app: Negotiations, foreign_event_id: str
) -> None:
    before = memory_app.max_position()
    outcome = send(memory_app, "100-0", entry(published(note("Fresh."))))
    assert outcome.recorded
    assert outcome.fields.keys() == RESULT_FIELDS
    assert outcome.fields["entry_id"] == "100-0"
    assert outcome.fields["status"] == "recorded"
    assert outcome.fields["negotiation_id"] == NID
    assert outcome.fields["position"] == str(before + 1)
    assert outcome.fields["duplicate"] == "false"
    assert memory_app.history(NID)[-1].event_id == outcome.fields["event_id"]


def test_the_same_entry_id_twice_records_once(
    memory_app: Negotiations, foreign_event_id: str
) -> None:
    fields = entry(published(note("Once.")))
    first = send(memory_app, "100-0", fields)
    second = send(memory_app, "100-0", fields)
    assert second.recorded
    assert second.fields["duplicate"] == "true"
    assert second.fields["event_id"] == first.fields["event_id"]
    texts = [getattr(e.draft.payload, "text", None) for e in memory_app.history(NID)]
    assert texts.count("Once.") == 1


def test_without_a_key_the_key_is_derived_from_the_entry_id(
    memory_app: Negotiations, foreign_event_id: str
) -> None:
    send(memory_app, "100-7", entry(published(note("Derived."))))
    assert memory_app.history(NID)[-1].draft.idempotency_key == "intake:100-7"


def test_an_idempotency_key_field_is_honoured_across_entry_ids(
    memory_app: Negotiations, foreign_event_id: str
) -> None:
    fields = entry(published(note("Keyed.")), idempotency_key="k-42")
    first = send(memory_app, "100-0", fields)
    again = send(memory_app, "101-0", fields)
    assert memory_app.history(NID)[-1].draft.idempotency_key == "k-42"
    assert again.fields["duplicate"] == "true"
    assert again.fields["event_id"] == first.fields["event_id"]
    assert memory_app.max_position() == int(first.fields["position"])


@pytest.mark.parametrize("name", list(bad_entries()))
def test_a_bad_entry_is_refused_with_its_code_and_stores_nothing(
    memory_app: Negotiations, foreign_event_id: str, name: str
) -> None:
    fields, code = bad_entries(foreign_event_id)[name]
    before = memory_app.max_position()
    outcome = send(memory_app, "100-0", fields)
    assert not outcome.recorded
    assert outcome.fields["status"] == "refused"
    assert outcome.fields["code"] == code, outcome.fields
    assert outcome.fields["message"]
    assert outcome.fields["entry_id"] == "100-0"
    assert memory_app.max_position() == before


@pytest.mark.parametrize("size", [1, 3])
def test_losing_every_race_to_another_writer_leaves_the_entries_pending(
    memory_app: Negotiations,
    foreign_event_id: str,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
) -> None:
    """``concurrent_write`` is not the input's fault: it must propagate (the entries stay
    pending and are retried), not dead-letter a valid entry."""

    def another_writer_saved_first(*args: object, **kwargs: object) -> None:
        raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(memory_app, "save", another_writer_saved_first)
    entries = [(f"{100 + i}-0", entry(published(note(f"Raced {i}.")))) for i in range(size)]
    with pytest.raises((ConflictError, IntegrityError)):
        outcomes = record_entries(memory_app, entries, max_bytes=MAX_BYTES)
        pytest.fail(f"refused instead: {[o.fields for o in outcomes]}")


@pytest.mark.parametrize(
    ("reply_to", "expected"),
    [
        (b"p:intake:reply:client-7", "p:intake:reply:client-7"),
        (b"p:intake:reply:a.b_c-d", "p:intake:reply:a.b_c-d"),
        (b"p:replies:client-7", DEFAULT),
        (b"p:intake:reply:", DEFAULT),
        (b"p:events", DEFAULT),
        (b"p:intake", DEFAULT),
        (b"client-7:replies", DEFAULT),
        (b"pp:replies", DEFAULT),
        (None, DEFAULT),
        (b"", DEFAULT),
        (b"p:has space", DEFAULT),
        (b":leading-colon", DEFAULT),
        (b"p:intake:reply:" + b"x" * 201, DEFAULT),
        (b"p:intake:reply:ok\n", DEFAULT),
        (b"\xff\xfe", DEFAULT),
        (b"p:line\nbreak", DEFAULT),
    ],
)
def test_reply_stream_is_reply_to_when_plausible_else_the_default(
    reply_to: bytes | None, expected: str
) -> None:
    fields: Fields = {"event": b"{}"}
    if reply_to is not None:
        fields["reply_to"] = reply_to
    assert reply_stream(fields, DEFAULT, PREFIX) == expected
