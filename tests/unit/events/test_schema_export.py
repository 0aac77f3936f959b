from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from events import EVENT_TYPES
from events.schema import export

EXPECTED = {f"{name}.json" for name in EVENT_TYPES} | {"Event.json", "Stamp.json"}


@pytest.fixture
def exported(tmp_path: Path) -> dict[str, Any]:
    export(tmp_path)
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in tmp_path.iterdir()}


def test_export_writes_one_file_per_event_type_plus_event_and_stamp(tmp_path: Path) -> None:
    written = export(tmp_path)
    assert {p.name for p in written} == EXPECTED
    assert {p.name for p in tmp_path.iterdir()} == EXPECTED


def test_export_creates_missing_directories(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schemas"
    export(target)
    assert {p.name for p in target.iterdir()} == EXPECTED


def test_export_is_deterministic(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in export(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in export(tmp_path / "b")}
    assert first == second


def test_every_file_is_a_json_schema_object(exported: dict[str, Any]) -> None:
    for name, schema in exported.items():
        assert "title" in schema or "properties" in schema or "oneOf" in schema, name


def test_each_type_schema_is_closed_and_fixes_its_type(exported: dict[str, Any]) -> None:
    for name in EVENT_TYPES:
        schema = exported[f"{name}.json"]
        assert schema["title"] == name
        assert schema["additionalProperties"] is False
        assert schema["properties"]["type"]["const"] == name
        assert {
            "type",
            "negotiation_id",
            "occurred_at",
            "sources",
            "verification",
            "payload",
        } <= set(schema["required"])


def test_event_union_is_discriminated_on_type(exported: dict[str, Any]) -> None:
    union = exported["Event.json"]
    assert union["discriminator"]["propertyName"] == "type"
    assert len(union["oneOf"]) == len(EVENT_TYPES)


def test_stamp_schema_lists_the_server_fields(exported: dict[str, Any]) -> None:
    props = exported["Stamp.json"]["properties"]
    assert {
        "event_id",
        "recorded_at",
        "recorded_by",
        "version",
        "prev_hash",
        "hash",
        "position",
    } == set(props)


def test_context_noted_schema_describes_the_quantity_object(exported: dict[str, Any]) -> None:
    schema = exported["ContextNoted.json"]
    payload = schema["$defs"]["ContextNotedPayload"]
    assert {"$ref": "#/$defs/Quantity"} in payload["properties"]["quantity"]["anyOf"]
    quantity = schema["$defs"]["Quantity"]
    assert quantity["type"] == "object"
    assert {"value", "unit", "approximate"} == set(quantity["properties"])
    assert quantity["required"] == ["value"]


def test_partial_date_schema_pattern_matches_the_documented_forms(exported: dict[str, Any]) -> None:
    occurred_at = exported["MeetingHeld.json"]["properties"]["occurred_at"]
    pattern = re.compile(occurred_at["pattern"], re.ASCII)
    for ok in ["2024", "2024-09", "2024-09-27", "2024-09-27T14:00:00Z", "2024-09-27T14:00+03:00"]:
        assert pattern.search(ok), ok
    for bad in ["24-09", "2024-9", "2024-09-27T14:00:00"]:
        assert not pattern.search(bad), bad
