from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from events import (
    EVENT_TYPES,
    ContractError,
    InvalidEvent,
    RecordedEvent,
    UnknownSchemaVersion,
    event_hash,
    parse_draft,
)
from events.upcasting import UPCASTERS
from services.api.errors import status_of

MakeEvent = Callable[..., dict[str, Any]]


def context_v1(make_event: MakeEvent, quantity: Any = 2500) -> dict[str, Any]:
    event = make_event("ContextNoted", schema_version=1)
    event["payload"]["quantity"] = quantity
    return event


def test_context_noted_is_at_version_3_the_new_type_at_1_and_others_at_2() -> None:
    assert EVENT_TYPES["ContextNoted"].SCHEMA_VERSION == 3
    assert EVENT_TYPES["MilestoneProgressed"].SCHEMA_VERSION == 1
    new = {"ContextNoted", "MilestoneProgressed"}
    others = {cls.SCHEMA_VERSION for name, cls in EVENT_TYPES.items() if name not in new}
    assert others == {2}


def test_version_1_bare_quantity_is_upcast_to_an_exact_quantity_object(
    make_event: MakeEvent,
) -> None:
    draft = parse_draft(context_v1(make_event))
    assert draft.schema_version == 3
    assert draft.payload.quantity.value == 2500
    assert draft.payload.quantity.approximate is False
    assert draft.payload.quantity.unit is None


def test_version_1_without_quantity_is_upcast(make_event: MakeEvent) -> None:
    draft = parse_draft(make_event("ContextNoted", schema_version=1))
    assert (draft.schema_version, draft.payload.quantity) == (3, None)


def test_upcasting_leaves_the_input_unchanged(make_event: MakeEvent) -> None:
    event = context_v1(make_event)
    before = copy.deepcopy(event)
    parse_draft(event)
    assert event == before


def test_current_version_keeps_its_quantity_object(make_event: MakeEvent) -> None:
    event = make_event("ContextNoted", schema_version=2)
    event["payload"]["quantity"] = {"value": 2500, "unit": "U.S. troops", "approximate": True}
    quantity = parse_draft(event).payload.quantity
    assert (quantity.value, quantity.unit, quantity.approximate) == (2500, "U.S. troops", True)


def test_current_version_refuses_a_bare_quantity(make_event: MakeEvent) -> None:
    event = make_event("ContextNoted", schema_version=2)
    event["payload"]["quantity"] = 2500
    with pytest.raises(InvalidEvent) as info:
        parse_draft(event)
    assert info.value.field == "payload.quantity"


def test_missing_schema_version_means_the_current_one(make_event: MakeEvent) -> None:
    assert parse_draft(make_event("ContextNoted")).schema_version == 3
    assert parse_draft(make_event("MeetingHeld")).schema_version == 2
    assert parse_draft(make_event("MilestoneProgressed")).schema_version == 1


@pytest.mark.parametrize(
    ("event_type", "version"), [("MeetingHeld", 0), ("ContextNoted", 0), ("MeetingHeld", -1)]
)
def test_version_older_than_any_upcaster_is_refused(
    event_type: str, version: int, make_event: MakeEvent
) -> None:
    with pytest.raises(UnknownSchemaVersion) as info:
        parse_draft(make_event(event_type, schema_version=version))
    err = info.value
    assert (err.code, err.field, status_of(err)) == (
        "unknown_schema_version",
        "schema_version",
        422,
    )
    assert isinstance(err, ContractError)


def test_missing_upcaster_is_refused(
    make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(UPCASTERS, ("ContextNoted", 1))
    with pytest.raises(UnknownSchemaVersion) as info:
        parse_draft(context_v1(make_event))
    assert info.value.field == "schema_version"


@pytest.mark.parametrize(
    ("event_type", "version"), [("ContextNoted", 4), ("MeetingHeld", 3), ("MilestoneProgressed", 2)]
)
def test_version_newer_than_current_is_refused_naming_schema_version(
    event_type: str, version: int, make_event: MakeEvent
) -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_draft(make_event(event_type, schema_version=version))
    assert "not current" in info.value.message
    assert info.value.field == "schema_version"


def test_stored_version_1_event_verifies_against_its_stored_bytes_and_reads_upcast(
    make_event: MakeEvent,
) -> None:
    wire = {
        **context_v1(make_event),
        "event_id": "0b0e8f9e-4c1a-4d5e-9a2b-3c4d5e6f7a8b",
        "recorded_at": "2024-07-23T08:00:00.000000Z",
        "recorded_by": "importer",
        "version": 3,
    }
    wire["hash"] = event_hash(wire)
    event = RecordedEvent.from_wire(wire, position=5)
    assert event.hash_ok()
    assert event.wire["payload"]["quantity"] == 2500  # stored bytes are never rewritten
    assert event.draft.schema_version == 3
    assert event.draft.payload.quantity.value == 2500
