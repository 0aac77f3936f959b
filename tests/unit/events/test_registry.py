"""Per-type tables are checked against the contract's event types: a missing or an unknown
entry stops the import with an error naming the layer and the types."""

from __future__ import annotations

import importlib
import sys

import pytest

import projections.kinds  # noqa: F401 (loaded, so that the test below can import it anew)
import services.recorder.rules  # noqa: F401 (the same, with services.recorder.facts)
from events import EVENT_TYPES, registry
from events.lifecycle import ENGAGING
from events.registry import Nothing, RegistryMismatch, complete, known
from events.upcasting import UPCASTERS

NOTHING = Nothing("handler")


def full_table() -> dict[str, str | Nothing]:
    return {name: f"handle {name}" for name in EVENT_TYPES}


def test_a_table_with_every_type_passes_without_its_nothing_entries() -> None:
    table = full_table()
    table["TalksResumed"] = NOTHING

    checked = complete("test layer", table)

    assert checked.keys() == EVENT_TYPES.keys() - {"TalksResumed"}
    assert checked["MeetingHeld"] == "handle MeetingHeld"


def test_a_table_missing_a_type_fails_naming_the_layer_and_the_type() -> None:
    table = full_table()
    del table["MilestoneMissed"]
    del table["DemandMade"]

    with pytest.raises(RegistryMismatch) as caught:
        complete("test layer", table)

    assert caught.value.layer == "test layer"
    assert caught.value.missing == ["DemandMade", "MilestoneMissed"]
    assert caught.value.unknown == []
    assert str(caught.value) == "test layer: no entry for DemandMade, MilestoneMissed"
    assert caught.value.code == "registry_mismatch"


def test_a_table_naming_an_unknown_type_fails_naming_it() -> None:
    table = full_table()
    table["MeetingPostponed"] = "handle it"

    with pytest.raises(RegistryMismatch) as caught:
        complete("test layer", table)

    assert caught.value.unknown == ["MeetingPostponed"]
    assert str(caught.value) == "test layer: entries for unknown types MeetingPostponed"


def test_a_table_both_missing_and_unknown_names_both() -> None:
    table = full_table()
    table["Meetingheld"] = table.pop("MeetingHeld")

    with pytest.raises(RegistryMismatch, match=r"^test layer: no entry for MeetingHeld; "):
        complete("test layer", table)


def test_a_deliberate_absence_still_needs_its_entry() -> None:
    table: dict[str, str | Nothing] = dict.fromkeys(EVENT_TYPES, NOTHING)
    del table["TalksConcluded"]

    with pytest.raises(RegistryMismatch, match="no entry for TalksConcluded"):
        complete("test layer", table)


def test_the_marker_says_what_is_absent() -> None:
    assert repr(Nothing("guard")) == "<no guard>"


def test_known_refuses_a_name_that_is_no_type() -> None:
    assert known("filter", {"MeetingHeld"}) == frozenset({"MeetingHeld"})
    with pytest.raises(RegistryMismatch, match=r"^filter: entries for unknown types Meeting$"):
        known("filter", {"MeetingHeld", "Meeting"})


def test_the_contract_names_only_known_types_in_its_own_tables() -> None:
    upcast_types = {event_type for event_type, _ in UPCASTERS}
    assert known("lifecycle ENGAGING", ENGAGING) == ENGAGING
    assert known("upcasters", upcast_types) == upcast_types


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("services.recorder.facts", "recorder facts (ABSORB in services/recorder/facts.py)"),
        ("services.recorder.rules", "recorder guards (GUARDS in services/recorder/rules.py)"),
        ("projections.kinds", "projections (KINDS in projections/kinds.py)"),
    ],
)
def test_a_type_added_to_the_contract_alone_stops_each_layer_at_import(
    monkeypatch: pytest.MonkeyPatch, module: str, layer: str
) -> None:
    monkeypatch.setattr(registry, "EVENT_TYPES", {**EVENT_TYPES, "MeetingPostponed": object})
    monkeypatch.delitem(sys.modules, module)  # put back as it was after the test

    with pytest.raises(RegistryMismatch) as caught:
        importlib.import_module(module)

    assert str(caught.value) == f"{layer}: no entry for MeetingPostponed"
    assert module not in sys.modules
