"""The one JSON parser of every entry point: plain JSON as ``json.loads`` reads it; duplicate
keys, integers out of the I-JSON range, bad UTF-8 and malformed text refused, naming where."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import MAX_SAFE_INTEGER, ContractError, InvalidJson, parse_draft, parse_json
from tests.factories import NOTE, body

SAFE = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@given(JSON_VALUES, st.booleans())
def test_any_json_without_duplicates_or_huge_integers_reads_as_json_loads_reads_it(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert parse_json(text, document="body") == json.loads(text)
    assert parse_json(text.encode(), document="body") == json.loads(text)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('{"type": "A", "type": "B"}', "type", ["'type'", "at the top level"]),
        (
            '{"payload": {"text": "a", "x": 1, "text": "b"}}',
            "payload.text",
            ["'text'", "in payload"],
        ),
        ('{"events": [{}, {"a": [{"k": 1, "k": 1}]}]}', "events.1.a.0.k", ["in events.1.a.0"]),
        ('[{"a": 1}, {"b": 1, "b": 2}]', "1.b", ["'b'", "in 1"]),
        ('{"": 1, "": 2}', "", ["''"]),
    ],
)
def test_a_duplicate_key_is_refused_naming_the_key_and_where(
    text: str, field: str, words: list[str]
) -> None:
    with pytest.raises(InvalidJson) as refused:
        parse_json(text, document="body")
    assert refused.value.code == "duplicate_key"
    assert refused.value.field == field
    for word in words:
        assert word in str(refused.value)


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ("9" * 5000, "confidence"),
        ("-" + "9" * 5000, "confidence"),
        (str(MAX_SAFE_INTEGER + 1), "confidence"),
        (str(-MAX_SAFE_INTEGER - 1), "confidence"),
        ("1" + "0" * 30, "confidence"),
    ],
)
def test_an_integer_beyond_2_53_is_refused_naming_where(number: str, field: str) -> None:
    with pytest.raises(InvalidJson) as refused:
        parse_json('{"type": "A", "confidence": ' + number + "}", document="body")
    assert refused.value.code == "number_out_of_range"
    assert refused.value.field == field
    assert len(str(refused.value)) < 200


def test_the_largest_safe_integers_and_big_floats_are_read() -> None:
    text = f"[{MAX_SAFE_INTEGER}, {-MAX_SAFE_INTEGER}, 1e300, 123456789012345678901234.5]"
    assert parse_json(text, document="body") == json.loads(text)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"type": "\xff"}', ["body: not UTF-8 (byte 10)"]),
        (b'{"type": oops}', ["body: not JSON", "line 1 column 10"]),
        (b"[" * 100_000 + b"]" * 100_000, ["body: JSON nested too deeply"]),
        (b'{"a": 1, "a": 2} trailing', ["body: not JSON", "Extra data"]),
        (b'[{"a": 1, "a": 2}, ', ["body: not JSON"]),
    ],
)
def test_text_that_is_not_json_is_refused_as_invalid_json(raw: bytes, words: list[str]) -> None:
    with pytest.raises(InvalidJson) as refused:
        parse_json(raw, document="body")
    assert refused.value.code == "invalid_json"
    for word in words:
        assert word in str(refused.value)


def test_parse_draft_refuses_a_huge_integer_from_python_callers_too() -> None:
    event = body("ContextNoted", {**NOTE, "quantity": {"value": 10**5000}})
    with pytest.raises(ContractError) as refused:
        parse_draft(event)
    assert refused.value.code == "number_out_of_range"
    assert refused.value.field == "payload.quantity.value"


def test_parse_draft_refuses_nesting_deeper_than_any_event() -> None:
    deep: Any = "x"
    for _ in range(200):
        deep = {"a": deep}
    event = body("EventCorrected", {"target_event_id": "x", "patch": deep, "reason": "r"})
    with pytest.raises(ContractError) as refused:
        parse_draft(event)
    assert refused.value.code == "invalid_event"
    assert "nested deeper" in str(refused.value)
