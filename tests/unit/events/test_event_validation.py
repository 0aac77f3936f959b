from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest

from events import EVENT_TYPES, SERVER_FIELDS, ContractError, InvalidEvent, parse_draft
from services.api.errors import status_of

MakeEvent = Callable[..., dict[str, Any]]


def _parent(event: dict[str, Any], path: str) -> tuple[Any, Any]:
    *parents, last = path.split(".")
    target: Any = event
    for key in parents:
        target = target[int(key) if isinstance(target, list) else key]
    return target, int(last) if isinstance(target, list) else last


def with_value(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``event`` with the dotted ``path`` (list indexes allowed) set to ``value``."""
    event = copy.deepcopy(event)
    target, key = _parent(event, path)
    target[key] = value
    return event


def without(event: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of ``event`` without the dotted ``path``."""
    event = copy.deepcopy(event)
    target, key = _parent(event, path)
    del target[key]
    return event


def refusal(obj: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        parse_draft(obj)
    return info.value


# --- every type has a minimal valid example ---------------------------------------------------


def test_every_event_type_has_a_minimal_example(minimal_payloads: dict[str, Any]) -> None:
    assert set(minimal_payloads) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_minimal_event_of_each_type_parses(event_type: str, make_event: MakeEvent) -> None:
    draft = parse_draft(make_event(event_type))
    assert type(draft) is EVENT_TYPES[event_type]
    assert draft.type == event_type
    assert draft.modality == "actual"


def test_design_example_meeting_with_a_date_range_parses(make_event: MakeEvent) -> None:
    draft = parse_draft(make_event("MeetingHeld", occurred_until="2024-07-23"))
    assert str(draft.occurred_until) == "2024-07-23"


def test_parsing_does_not_modify_the_input(make_event: MakeEvent) -> None:
    event = make_event("StatementIssued")
    before = copy.deepcopy(event)
    parse_draft(event)
    assert event == before


# --- refusals: type, server fields, shape -----------------------------------------------------


@pytest.mark.parametrize("bad", [[], "MeetingHeld", None, 42])
def test_non_object_input_is_refused(bad: Any) -> None:
    err = refusal(bad)
    assert (err.code, err.field) == ("invalid_event", "event")


def test_unknown_type_is_refused_with_the_known_types(make_event: MakeEvent) -> None:
    err = refusal({**make_event(), "type": "MeetingPostponed"})
    assert (err.code, err.field) == ("unknown_type", "type")
    assert "MeetingHeld" in err.details["known"]


def test_missing_type_is_an_unknown_type(make_event: MakeEvent) -> None:
    err = refusal(without(make_event(), "type"))
    assert (err.code, err.field) == ("unknown_type", "type")


@pytest.mark.parametrize("bad_type", [["MeetingHeld"], {"name": "MeetingHeld"}])
def test_type_that_is_not_a_string_is_an_unknown_type(bad_type: Any, make_event: MakeEvent) -> None:
    err = refusal({**make_event(), "type": bad_type})
    assert (err.code, err.field) == ("unknown_type", "type")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "0b0e8f9e-4c1a-4d5e-9a2b-3c4d5e6f7a8b"),
        ("hash", "0" * 64),
        ("position", 1),
        ("recorded_at", "2024-07-22T10:00:00Z"),
        ("recorded_by", "someone"),
        ("version", 1),
        ("prev_hash", "0" * 64),
    ],
)
def test_server_set_fields_sent_by_a_publisher_are_refused(
    field: str, value: Any, make_event: MakeEvent
) -> None:
    err = refusal({**make_event(), field: value})
    assert (err.code, err.field) == ("server_field", field)


def test_server_fields_are_exactly_the_stamp() -> None:
    stamp = {"event_id", "recorded_at", "recorded_by", "version", "prev_hash", "hash", "position"}
    assert stamp == SERVER_FIELDS


@pytest.mark.parametrize(
    "path",
    [
        "payload.meeting_id",
        "payload.mode",
        "occurred_at",
        "sources",
        "verification",
        "negotiation_id",
        "payload",
    ],
)
def test_missing_required_field_is_named(path: str, make_event: MakeEvent) -> None:
    err = refusal(without(make_event("MeetingHeld"), path))
    assert (err.code, err.field) == ("invalid_event", path)
    assert "required" in err.message.lower()


def test_extra_field_at_top_level_is_refused(make_event: MakeEvent) -> None:
    err = refusal({**make_event(), "importance": "high"})
    assert (err.code, err.field) == ("invalid_event", "importance")


def test_extra_field_inside_payload_is_refused(make_event: MakeEvent) -> None:
    err = refusal(with_value(make_event(), "payload.importance", "high"))
    assert (err.code, err.field) == ("invalid_event", "payload.importance")


def test_extra_field_inside_a_nested_part_is_refused(make_event: MakeEvent) -> None:
    err = refusal(with_value(make_event(), "sources.0.rating", 5))
    assert err.field == "sources.0.rating"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("negotiation_id", 123),
        ("occurred_at", 20240722),
        ("sources", "Reuters"),
        ("verification", "probably"),
        ("confidence", "high"),
        ("modality", "rumoured"),
        ("payload", ["jscd-2"]),
        ("payload.meeting_id", 7),
        ("payload.mode", "carrier_pigeon"),
        ("payload.participants", "Iraq"),
        ("sources.0.kind", "blog"),
    ],
)
def test_wrong_types_and_values_are_refused_naming_the_field(
    path: str, value: Any, make_event: MakeEvent
) -> None:
    err = refusal(with_value(make_event("MeetingHeld"), path, value))
    assert (err.code, err.field) == ("invalid_event", path)


def test_all_problems_are_listed_in_details(make_event: MakeEvent) -> None:
    event = {**make_event(), "verification": "probably", "confidence": 2}
    fields = {p["field"] for p in refusal(event).details}
    assert fields == {"verification", "confidence"}


# --- refusals: field rules --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2024-13", "2024-02-30", "2024-07-22T10:00", "yesterday"])
def test_invalid_occurred_at_is_refused(bad: str, make_event: MakeEvent) -> None:
    err = refusal(make_event(occurred_at=bad))
    assert (err.code, err.field) == ("invalid_event", "occurred_at")


def test_occurred_at_at_the_edge_of_the_calendar_is_refused(make_event: MakeEvent) -> None:
    err = refusal(make_event(occurred_at="9999-12-31"))
    assert err.field == "occurred_at"


def test_quote_of_4000_characters_is_accepted(make_event: MakeEvent) -> None:
    parse_draft(with_value(make_event("StatementIssued"), "payload.quote", "x" * 4000))


def test_over_long_quote_is_refused(make_event: MakeEvent) -> None:
    err = refusal(with_value(make_event("StatementIssued"), "payload.quote", "x" * 4001))
    assert (err.code, err.field) == ("invalid_event", "payload.quote")


@pytest.mark.parametrize("bad", ["US-Iraq", "us iraq", "-us-iraq", "u", "a" * 65, "us_iraq"])
def test_negotiation_id_must_be_a_slug(bad: str, make_event: MakeEvent) -> None:
    err = refusal(make_event(negotiation_id=bad))
    assert (err.code, err.field) == ("invalid_event", "negotiation_id")


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan])
def test_confidence_outside_zero_to_one_is_refused(bad: float, make_event: MakeEvent) -> None:
    err = refusal(make_event(confidence=bad))
    assert (err.code, err.field) == ("invalid_event", "confidence")


def test_empty_sources_are_refused(make_event: MakeEvent) -> None:
    err = refusal(make_event(sources=[]))
    assert (err.code, err.field) == ("invalid_event", "sources")


def test_occurred_until_equal_to_occurred_at_is_accepted(make_event: MakeEvent) -> None:
    parse_draft(make_event(occurred_at="2024-07-22", occurred_until="2024-07-22"))


def test_occurred_until_before_occurred_at_is_refused(make_event: MakeEvent) -> None:
    err = refusal(make_event(occurred_at="2024-07-22", occurred_until="2024-07-21"))
    assert err.code == "invalid_event"
    assert "before" in err.message
    assert err.field == "occurred_until"


def test_statement_without_quote_or_paraphrase_is_refused(make_event: MakeEvent) -> None:
    err = refusal(without(make_event("StatementIssued"), "payload.quote"))
    assert (err.code, err.field) == ("invalid_event", "payload")
    assert "quote or a paraphrase" in err.message


def test_statement_with_only_a_paraphrase_is_accepted(make_event: MakeEvent) -> None:
    event = with_value(make_event("StatementIssued"), "payload.paraphrase", "He said so.")
    parse_draft(without(event, "payload.quote"))


def test_not_later_than_due_without_date_is_refused(make_event: MakeEvent) -> None:
    event = with_value(make_event("MilestoneScheduled"), "payload.due", {"kind": "not_later_than"})
    err = refusal(event)
    assert (err.code, err.field) == ("invalid_event", "payload.due")
    assert "date" in err.message


def test_relative_due_needs_anchor_and_offset(make_event: MakeEvent) -> None:
    due = {"kind": "relative", "anchor_milestone": "m0"}
    err = refusal(with_value(make_event("MilestoneScheduled"), "payload.due", due))
    assert err.field == "payload.due" and "offset_days" in err.message


def test_invalid_event_is_a_422_contract_error() -> None:
    assert issubclass(InvalidEvent, ContractError)
    assert status_of(InvalidEvent("invalid_event", "bad")) == 422


def test_text_that_is_not_valid_unicode_is_refused(make_event: MakeEvent) -> None:
    err = refusal(with_value(make_event(), "payload.location", "Baghdad \ud800"))
    assert err.field == "payload.location"


@pytest.mark.parametrize("bad", [math.nan, math.inf, "\ud800", {"nested": -math.inf}])
def test_correction_patch_that_is_not_canonical_json_is_refused(
    bad: Any, make_event: MakeEvent
) -> None:
    err = refusal(with_value(make_event("EventCorrected"), "payload.patch.quote", bad))
    assert err.field is not None and err.field.startswith("payload.patch")
