"""Writing only what a batch changed (the Redis hash layout) gives back the same state as
writing everything: every handler's touched entries are declared."""

from __future__ import annotations

import json
from typing import Any, cast

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.live import codec
from projections.negotiation import SECTIONS, State, empty, fold_into
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
    state = _noted(fold_into(empty(), [e.wire for e in random_history([0])[1]]), text)
    fields = codec.full(state)
    stored = b"".join(fields.values())
    assert stored.count(text.encode()) == 1
    rebuilt = codec.decode(_as_hash(fields))
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(state, sort_keys=True)
    assert rebuilt["view"]["context"]["note-1"]["text"] == text


def _former_layout(state: State) -> dict[str, bytes]:
    """``full`` as states were written before the array records and ``@p`` entries."""
    fields = {f"r:{eid}": orjson.dumps(rec) for eid, rec in state["registry"].items()}
    fields[codec.HEAD] = orjson.dumps({k: v for k, v in state["view"].items() if k not in SECTIONS})
    for section in SECTIONS:
        for key, entry in state["view"][section].items():
            record = state["registry"].get(key)
            payload: Any = record["payload"] if record is not None else None
            if record is None or not isinstance(entry, dict) or not payload:
                fields[f"v:{section}:{key}"] = orjson.dumps(entry)
                continue
            if any(entry.get(k) != v for k, v in payload.items()):
                fields[f"v:{section}:{key}"] = orjson.dumps(entry)
                continue
            if list(entry)[: len(payload)] != list(payload):
                fields[f"v:{section}:{key}"] = orjson.dumps(entry)
                continue
            rest = {k: v for k, v in entry.items() if k not in payload}
            fields[f"v:{section}:{key}"] = orjson.dumps({"@r": 1, **rest})
    return fields


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=CHOICES)
def test_states_written_in_the_former_layout_read_as_they_did(choices: list[int]) -> None:
    _, events = random_history(choices)
    state = fold_into(empty(), [e.wire for e in events])
    rebuilt = codec.decode(_as_hash(_former_layout(state)))
    assert json.dumps(rebuilt) == json.dumps(state)


def _noted(state: State, text: str, event_id: str = "note-1") -> State:
    opening = next(iter(state["registry"].values()))
    wire = {
        **{k: opening[k] for k in ("occurred_at", "recorded_at", "recorded_by", "verification")},
        "type": "ContextNoted",
        "event_id": event_id,
        "negotiation_id": "talks-a",
        "occurred_until": None,
        "modality": "actual",
        "sources": opening["sources"],
        "version": 1000,
        "position": 1000,
        "hash": "h" * 64,
        "payload": {"topic": "Troops", "text": text},
    }
    return fold_into(state, [wire])


def test_a_record_is_an_array_of_its_values_and_an_entry_keeps_only_what_its_record_lacks() -> None:
    state = _noted(fold_into(empty(), [e.wire for e in random_history([0])[1]]), "A note.")
    fields = codec.full(state)
    record = orjson.loads(fields["r:note-1"])
    assert record[:3] == [codec.LAYOUT, "ContextNoted", {"topic": "Troops", "text": "A note."}]
    assert "type" not in fields["r:note-1"].decode()  # no field name per record
    assert orjson.loads(fields["v:context:note-1"]) == {"@p": 7}  # topic, text, origin
    rebuilt = codec.decode(_as_hash(fields))
    assert json.dumps(rebuilt) == json.dumps(state)


def test_an_entry_that_differs_from_its_record_keeps_the_differing_items() -> None:
    state = _noted(fold_into(empty(), [e.wire for e in random_history([0])[1]]), "A note.")
    entry = state["view"]["context"]["note-1"]
    changed: dict[str, Any] = {**entry}
    changed["verification"] = "denied"  # differs from the record's: kept, with what follows
    state["view"]["context"]["note-1"] = cast(Any, changed)
    stored = orjson.loads(codec.full(state)["v:context:note-1"])
    assert stored["@p"] == list(changed).index("verification")
    assert stored["verification"] == "denied"
    rebuilt = codec.decode(_as_hash(codec.full(state)))
    assert json.dumps(rebuilt) == json.dumps(state)


def test_a_value_equal_to_its_records_but_of_another_type_is_kept() -> None:
    state = _noted(fold_into(empty(), [e.wire for e in random_history([0])[1]]), "A note.")
    changed: dict[str, Any] = {**state["view"]["context"]["note-1"], "corrected": 0}
    state["view"]["context"]["note-1"] = cast(Any, changed)
    rebuilt = codec.decode(_as_hash(codec.full(state)))
    assert json.dumps(rebuilt) == json.dumps(state)
    assert rebuilt["view"]["context"]["note-1"]["corrected"] == 0


def test_a_record_in_another_key_order_is_kept_as_an_object() -> None:
    state = _noted(fold_into(empty(), [e.wire for e in random_history([0])[1]]), "A note.")
    record: dict[str, Any] = dict(reversed(list(state["registry"]["note-1"].items())))
    state["registry"]["note-1"] = cast(Any, record)
    stored = orjson.loads(codec.full(state)["r:note-1"])
    assert isinstance(stored, dict) and list(stored) == list(record)
    rebuilt = codec.decode(_as_hash(codec.full(state)))
    assert json.dumps(rebuilt) == json.dumps(state)


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


def test_an_event_reads_no_entry_keyed_by_itself_but_those_of_others() -> None:
    """A note or a demand only creates the entry keyed by its own id: its batch reads the
    headline alone (held between batches), so a flow of notes costs no state read."""
    note = {"type": "ContextNoted", "event_id": "e-1", "payload": {"text": "A note."}}
    demand = {"type": "DemandMade", "event_id": "e-2", "payload": {}}
    answer = {"type": "ProposalAccepted", "event_id": "e-3", "payload": {"proposal_id": "p-1"}}
    assert codec.slice_fields(note) == {codec.HEAD}
    assert codec.slice_fields(demand) == {codec.HEAD}
    assert codec.slice_fields(answer) == {codec.HEAD, "v:proposals:p-1", "r:p-1"}
