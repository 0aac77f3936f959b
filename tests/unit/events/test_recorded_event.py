from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    SERVER_FIELDS,
    Envelope,
    RecordedEvent,
    canonical_json,
    event_hash,
    hashed_body,
    parse_draft,
    seal,
    split_hash,
    with_hash,
)
from events.parts import Codes

MakeEvent = Callable[..., dict[str, Any]]
EVENT_ID = "5f1d7a2c-9b3e-4c8d-a1f0-2e3d4c5b6a79"
PREV = "a" * 64


def sealed(draft_dict: dict[str, Any], prev_hash: str | None = PREV) -> RecordedEvent:
    return seal(
        parse_draft(draft_dict),
        event_id=EVENT_ID,
        recorded_at=datetime(2024, 7, 23, 8, 0, tzinfo=UTC),
        recorded_by="key:importer",
        version=4,
        prev_hash=prev_hash,
    )


@pytest.fixture
def event(make_event: MakeEvent) -> RecordedEvent:
    return sealed(make_event("StatementIssued", occurred_until="2024-07-23", confidence=0.8))


def test_sealed_wire_carries_envelope_payload_and_stamp(event: RecordedEvent) -> None:
    wire = event.wire
    assert wire["type"] == "StatementIssued" and wire["payload"]["quote"] == "al-Sudani – ✓"
    assert (wire["event_id"], wire["recorded_by"], wire["version"], wire["prev_hash"]) == (
        EVENT_ID,
        "key:importer",
        4,
        PREV,
    )
    assert wire["recorded_at"] == "2024-07-23T08:00:00.000000Z"
    assert "position" not in wire


def test_sealed_hash_verifies(event: RecordedEvent) -> None:
    assert event.hash_ok()
    assert event.wire["hash"] == event.stamp.hash == event_hash(event.wire)


def test_sealing_is_deterministic_and_binds_the_previous_hash(make_event: MakeEvent) -> None:
    assert sealed(make_event()).stamp.hash == sealed(make_event()).stamp.hash
    assert sealed(make_event()).stamp.hash != sealed(make_event(), prev_hash="b" * 64).stamp.hash
    assert "prev_hash" not in sealed(make_event(), prev_hash=None).wire


def test_from_wire_round_trips_with_the_stores_position(event: RecordedEvent) -> None:
    back = RecordedEvent.from_wire(copy.deepcopy(event.wire), position=7)
    assert back.stamp.hash == event.stamp.hash
    assert back.position == 7 and back.wire["position"] == 7
    assert back.draft == event.draft
    assert back.event_id == EVENT_ID and back.type == "StatementIssued"
    assert back.hash_ok()


def test_from_wire_without_position_leaves_it_unset(event: RecordedEvent) -> None:
    assert RecordedEvent.from_wire(event.wire).position is None


def test_round_trip_through_canonical_bytes_still_verifies(event: RecordedEvent) -> None:
    stored = canonical_json({**event.wire, "position": 7})
    back = RecordedEvent.from_wire(json.loads(stored))
    assert back.hash_ok() and back.position == 7 and back.draft == event.draft


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _flipped(wire: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    wire = copy.deepcopy(wire)
    *parents, last = path
    target: Any = wire
    for key in parents:
        target = target[key]
    old = target[last]
    if isinstance(old, bool):
        target[last] = not old
    elif isinstance(old, int | float):
        target[last] = old + 1
    else:
        target[last] = f"{old}x"
    return wire


def test_flipping_any_value_in_the_wire_breaks_the_hash(event: RecordedEvent) -> None:
    paths = [p for p in _leaves(event.wire) if p[0] not in ("hash", "position")]
    assert len(paths) > 15
    for path in paths:
        tampered = RecordedEvent(event.draft, event.stamp, _flipped(event.wire, path))
        assert not tampered.hash_ok(), path


def test_a_wire_whose_stated_hash_was_changed_does_not_verify(event: RecordedEvent) -> None:
    assert not RecordedEvent.from_wire({**event.wire, "hash": "f" * 64}).hash_ok()


def test_a_removed_or_added_field_breaks_the_hash(event: RecordedEvent) -> None:
    for wire in (
        {k: v for k, v in event.wire.items() if k != "confidence"},
        {**event.wire, "correlation_id": "c1"},
    ):
        assert not RecordedEvent.from_wire(wire).hash_ok()


def test_the_position_is_not_hashed(event: RecordedEvent) -> None:
    assert RecordedEvent.from_wire(event.wire, position=1).hash_ok()
    assert RecordedEvent.from_wire(event.wire, position=99).hash_ok()


def test_the_seal_keeps_the_bytes_it_hashed(event: RecordedEvent) -> None:
    assert event.body == hashed_body(event.wire)
    assert hashlib.sha256(event.body).hexdigest() == event.stamp.hash


def test_the_stored_form_is_the_canonical_json_with_the_hash(event: RecordedEvent) -> None:
    stored = with_hash(event.body, event.event_id, event.stamp.hash)
    assert stored == canonical_json(event.wire)
    assert split_hash(stored) == (event.body, event.stamp.hash)
    assert split_hash(event.body) is None


def test_the_hash_member_follows_event_id_and_nothing_before_it_holds_one() -> None:
    """``with_hash`` puts the hash member right after ``event_id``; ``split_hash`` takes the
    first one it finds, so no field sorted before it may hold a member named ``hash``."""
    names = sorted((set(Envelope.model_fields) | {"payload"} | SERVER_FIELDS) - {"position"})
    assert names[names.index("event_id") + 1] == "hash"
    before = names[: names.index("hash")]
    assert before == ["causation_id", "codes", "confidence", "correlation_id", "event_id"]
    assert "hash" not in Codes.model_fields and Codes.model_config["extra"] == "forbid"


texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=200)
@given(
    text=texts,
    topic=texts,
    key=texts,
    correlation=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True),
)
def test_any_event_is_stored_as_its_canonical_json_with_the_hash(
    text: str, topic: str, key: str, correlation: str
) -> None:
    event = sealed(
        {
            "type": "ContextNoted",
            "negotiation_id": "us-iraq-jscd",
            "occurred_at": "2024-09",
            "sources": [{"outlet": "Wire", "kind": "wire", "excerpt": text}],
            "verification": "reported",
            "correlation_id": correlation,
            "causation_id": correlation,
            "idempotency_key": key,
            "payload": {"topic": topic, "text": text},
        }
    )
    stored = with_hash(event.body, event.event_id, event.stamp.hash)
    assert stored == canonical_json(event.wire)
    assert split_hash(stored) == (event.body, event.stamp.hash)
