"""The recorder's per-type tables name every event type of the contract, and nothing else."""

from __future__ import annotations

import pytest

from events import EVENT_TYPES
from events.registry import Nothing, RegistryMismatch, complete
from services.recorder import facts, rules


@pytest.mark.parametrize(
    ("layer", "table"),
    [("recorder guards", rules.GUARDS), ("recorder facts", facts.ABSORB)],
    ids=["guards", "facts"],
)
def test_recorder_table_has_an_entry_for_every_event_type(
    layer: str, table: dict[str, object]
) -> None:
    assert table.keys() == EVENT_TYPES.keys()
    checked = complete(layer, table)
    assert all(callable(entry) for entry in checked.values())


def test_guards_without_a_type_fail_naming_the_layer_and_the_type() -> None:
    table = {name: guard for name, guard in rules.GUARDS.items() if name != "MeetingHeld"}

    with pytest.raises(RegistryMismatch, match=r"^recorder guards: no entry for MeetingHeld$"):
        complete("recorder guards", table)


def test_types_without_a_guard_or_facts_say_so() -> None:
    unguarded = {name for name, guard in rules.GUARDS.items() if isinstance(guard, Nothing)}
    no_facts = {name for name, absorb in facts.ABSORB.items() if isinstance(absorb, Nothing)}

    assert unguarded == {"NegotiationOpened", "DemandMade", "ContextNoted", "TalksConcluded"}
    assert "EventCorrected" in no_facts
    assert "MeetingHeld" not in no_facts


def test_background_names_only_event_types() -> None:
    assert rules.BACKGROUND.issubset(EVENT_TYPES)


def test_inert_types_have_no_guard_no_facts_and_no_say_in_the_status() -> None:
    from services.recorder.facts import ABSORB, INERT, NO_FACTS
    from services.recorder.rules import GUARDS, NO_GUARD

    for kind in INERT:
        assert GUARDS[kind] is NO_GUARD, kind
        assert ABSORB[kind] is NO_FACTS, kind
        assert kind not in ("TalksConcluded", "AgreementStatusChanged", "NegotiationOpened")
