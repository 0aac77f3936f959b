"""The read side's per-type table (projections/kinds.py) names every event type of the
contract, and the typed view shapes match the views the reducer builds."""

from __future__ import annotations

import importlib
import sys
from typing import get_type_hints

import pytest

from events import CORRECTIONS, EVENT_TYPES, wire
from events.registry import Nothing, RegistryMismatch, complete
from events.wire import PAYLOAD_WIRE
from projections import kinds
from projections.negotiation import empty
from projections.shapes import SECTIONS, View
from projections.views import PROJECTIONS


def test_kinds_have_an_entry_for_every_event_type() -> None:
    assert kinds.KINDS.keys() == EVENT_TYPES.keys()
    assert complete("projections", kinds.KINDS) == kinds.KINDS


def test_kinds_without_a_type_fail_naming_the_layer_and_the_type() -> None:
    table = {name: k for name, k in kinds.KINDS.items() if name != "ContextNoted"}
    table["ContextNote"] = kinds.KINDS["ContextNoted"]

    with pytest.raises(RegistryMismatch) as caught:
        complete("projections", table)

    assert str(caught.value) == (
        "projections: no entry for ContextNoted; entries for unknown types ContextNote"
    )


def test_only_corrections_re_derive_the_whole_view() -> None:
    rederiving = {name for name, k in kinds.KINDS.items() if isinstance(k.touches, Nothing)}
    assert rederiving == CORRECTIONS
    assert kinds.TOUCHES.keys() == EVENT_TYPES.keys() - CORRECTIONS


def test_types_without_a_reducer_are_the_talks_and_corrections() -> None:
    assert EVENT_TYPES.keys() - kinds.REDUCERS.keys() == {
        "TalksSuspended",
        "TalksResumed",
        "TalksConcluded",
        *CORRECTIONS,
    }


def test_an_unknown_type_is_described_by_its_name() -> None:
    assert kinds.describe("SomethingElse", {}) == "SomethingElse"


def test_the_blank_view_has_exactly_the_fields_of_its_shape() -> None:
    blank = empty()["view"]
    assert blank.keys() == get_type_hints(View).keys()
    assert [name for name, value in blank.items() if isinstance(value, dict)] == list(SECTIONS)


def test_projection_filters_name_only_event_types() -> None:
    for projection in PROJECTIONS.values():
        assert projection.types.issubset(EVENT_TYPES)


def test_each_kind_declares_its_types_payload_shape() -> None:
    assert {name: k.shape for name, k in kinds.KINDS.items()} == PAYLOAD_WIRE


def test_a_kind_declaring_another_types_payload_shape_stops_the_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = {**PAYLOAD_WIRE, "TalksResumed": wire.TalksConcludedPayloadWire}
    monkeypatch.setattr(wire, "PAYLOAD_WIRE", shapes)
    monkeypatch.delitem(sys.modules, "projections.kinds")  # put back as it was after the test

    with pytest.raises(RegistryMismatch) as caught:
        importlib.import_module("projections.kinds")

    assert caught.value.misshapen == ["TalksResumed"]
    assert str(caught.value) == (
        "projections (KINDS in projections/kinds.py): not the payload shape of TalksResumed"
    )
