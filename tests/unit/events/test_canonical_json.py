from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from events import canonical_json, event_hash, hashed_body


def test_keys_are_sorted_at_every_depth() -> None:
    assert canonical_json({"b": 1, "a": {"d": 1, "c": 2}}) == b'{"a":{"c":2,"d":1},"b":1}'


def test_there_is_no_insignificant_whitespace() -> None:
    assert canonical_json({"a": [1, 2], "b": "x y"}) == b'{"a":[1,2],"b":"x y"}'


def test_non_ascii_text_stays_utf8_not_escaped() -> None:
    out = canonical_json({"name": "al-Sudani – ✓"})
    assert out == '{"name":"al-Sudani – ✓"}'.encode()
    assert b"\\u" not in out


def test_output_is_bytes_that_read_back_to_the_same_value() -> None:
    value = {"z": [None, True, 1.5, "é"], "a": {}}
    out = canonical_json(value)
    assert isinstance(out, bytes)
    assert json.loads(out) == value


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": bad})
    with pytest.raises(ValueError):
        canonical_json({"x": [{"y": bad}]})


def test_event_hash_is_sha256_hex_of_the_hashed_body() -> None:
    wire = {"type": "MeetingHeld", "hash": "h", "position": 3, "version": 1}
    assert hashed_body(wire) == b'{"type":"MeetingHeld","version":1}'
    assert event_hash(wire) == hashlib.sha256(hashed_body(wire)).hexdigest()
    assert len(event_hash(wire)) == 64


# --- properties over random JSON-able objects -------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, min_size=1, max_size=8)


def _without_unhashed(wire: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k not in ("hash", "position")}


@given(json_objects)
def test_canonical_json_does_not_depend_on_key_order(wire: dict[str, Any]) -> None:
    assert canonical_json(dict(reversed(list(wire.items())))) == canonical_json(wire)


@given(json_objects, json_values, json_values)
def test_event_hash_ignores_hash_and_position(
    wire: dict[str, Any], hash_value: Any, position: Any
) -> None:
    assert event_hash({**wire, "hash": hash_value, "position": position}) == event_hash(
        _without_unhashed(wire)
    )


@given(json_objects, st.data())
def test_event_hash_changes_when_any_other_field_changes(
    wire: dict[str, Any], data: st.DataObject
) -> None:
    fields = sorted(set(wire) - {"hash", "position"})
    assume(fields)
    field = data.draw(st.sampled_from(fields))
    new = data.draw(json_values)
    assume(canonical_json(new) != canonical_json(wire[field]))
    assert event_hash({**wire, field: new}) != event_hash(wire)


@given(json_objects, st.data())
def test_event_hash_changes_when_a_field_is_added_or_removed(
    wire: dict[str, Any], data: st.DataObject
) -> None:
    unused = st.text(max_size=12).filter(lambda k: k not in wire and k not in ("hash", "position"))
    extra = data.draw(unused)
    assert event_hash({**wire, extra: None}) != event_hash(wire)
    fields = sorted(set(wire) - {"hash", "position"})
    if fields:
        removed = {k: v for k, v in wire.items() if k != fields[0]}
        assert event_hash(removed) != event_hash(wire)
