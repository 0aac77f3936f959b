"""Writing only what a batch changed (the Redis hash layout) gives back the same state as
writing everything: every handler's touched entries are declared."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.live import codec
from projections.negotiation import State, empty, fold_into
from tests.unit.projections.support import CHOICES, random_history


def _as_hash(fields: dict[str, bytes]) -> dict[bytes, bytes]:
    return {k.encode(): v for k, v in fields.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES, data=st.data())
def test_delta_writes_rebuild_the_same_state_as_full_writes(
    choices: list[int], data: st.DataObject
) -> None:
    _, events = random_history(choices)
    wires = [e.wire for e in events]
    stored: dict[str, bytes] = {}
    state = empty()
    start = 0
    while start < len(wires):
        size = data.draw(st.integers(min_value=1, max_value=8))
        batch = wires[start : start + size]
        fold_into(state, batch)
        fields = codec.delta(state, batch)
        if fields is None:
            stored = codec.full(state)
        else:
            stored.update(fields)
        start += size
    rebuilt = codec.decode(_as_hash(stored))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(state, sort_keys=True)


def test_an_empty_hash_decodes_to_the_empty_state() -> None:
    assert codec.decode({}) == empty()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES)
def test_full_writes_read_back_in_the_same_key_order(choices: list[int]) -> None:
    _, events = random_history(choices)
    state = fold_into(empty(), [e.wire for e in events])
    rebuilt = codec.decode(_as_hash(codec.full(state)))
    assert json.dumps(rebuilt) == json.dumps(state)


def test_a_notes_text_is_stored_once_per_state() -> None:
    text = "A context note long enough to count: " + "troops " * 50
    state = fold_into(empty(), [e.wire for e in random_history([0])[1]])
    opening = next(iter(state["registry"].values()))
    wire = {
        **{k: opening[k] for k in ("occurred_at", "recorded_at", "recorded_by", "verification")},
        "type": "ContextNoted",
        "event_id": "note-1",
        "negotiation_id": "talks-a",
        "occurred_until": None,
        "modality": "actual",
        "sources": opening["sources"],
        "version": 1000,
        "position": 1000,
        "hash": "h" * 64,
        "payload": {"topic": "Troops", "text": text},
    }
    fold_into(state, [wire])
    fields = codec.full(state)
    stored = b"".join(fields.values())
    assert stored.count(text.encode()) == 1
    rebuilt = codec.decode(_as_hash(fields))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(state, sort_keys=True)
    assert rebuilt["view"]["context"]["note-1"]["text"] == text


def _slice_of(stored: dict[str, bytes], fields: set[str], trimmed: bool) -> State:
    """The slice an applier folds into: read from the hash, or a trimmed slice kept from the
    last batch with the fields it lacks read and merged in."""
    if not trimmed:
        return codec.decode(_as_hash({k: v for k, v in stored.items() if k in fields}))
    kept, held = codec.trim(codec.decode(_as_hash(stored)))
    lacking = {k: v for k, v in stored.items() if k in fields - held}
    codec.merge(kept, codec.decode(_as_hash(lacking)))
    return kept


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES, data=st.data())
def test_a_batch_folded_into_the_slice_its_events_read_writes_what_the_whole_state_does(
    choices: list[int], data: st.DataObject
) -> None:
    _, events = random_history(choices)
    wires = [e.wire for e in events]
    stored: dict[str, bytes] = {}
    whole = empty()
    sliced = 0
    start = 0
    while start < len(wires):
        batch = wires[start : start + data.draw(st.integers(min_value=1, max_value=8))]
        needed: set[str] | None = set()
        for wire in batch:
            fields = codec.slice_fields(wire)
            needed = None if fields is None or needed is None else needed | fields
        if needed is not None:
            part = _slice_of(stored, needed, data.draw(st.booleans()))
            fold_into(part, batch)
        fold_into(whole, batch)
        expected = codec.delta(whole, batch)
        if needed is not None:
            assert codec.delta(part, batch) == expected
            sliced += 1
        stored = codec.full(whole) if expected is None else {**stored, **expected}
        start += len(batch)
    assert sliced or not wires or any(codec.slice_fields(w) is None for w in wires)
