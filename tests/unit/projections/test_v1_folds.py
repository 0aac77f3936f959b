"""Events stored before schema version 2 keep loading and fold exactly as before.

tests/data/v1-folds/folds.json.gz holds histories of version 1 events (the legacy store's and
generated ones that use every field version 2 changed) with what each projection rendered
from them with the code of that time (tests/data/v1-folds/generate.py). Today's code must load
every one of those events, accept each history under today's rules, and render everything it
rendered then, unchanged: new keys may be added beside, and the one documented rename is that
a meeting's ``location`` text is now its ``place`` ``{name}`` (so a correction that patched
the location is now listed as patching the place).
"""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from events import RecordedEvent
from projections.views import PROJECTIONS
from services.recorder.facts import Facts
from services.recorder.rules import check

DATA = Path(__file__).parents[2] / "data" / "v1-folds" / "folds.json.gz"
with gzip.open(DATA, "rt", encoding="utf-8") as _file:
    GOLDEN: dict[str, Any] = json.load(_file)
TODAY = date.fromisoformat(GOLDEN["today"])
HISTORIES = {h["name"]: h for h in GOLDEN["histories"]}


def same_as_before(old: Any, new: Any, path: str = "") -> None:
    """``new`` has every key and value ``old`` had (it may have more keys); an old
    ``location`` reads as ``place: {name: location}``."""
    if isinstance(old, dict):
        assert isinstance(new, dict), path
        for key, value in old.items():
            if key == "location":
                assert "location" not in new, path
                assert new.get("place") == (None if value is None else {"name": value}), path
                continue
            assert key in new, f"{path}.{key} is gone"
            same_as_before(value, new[key], f"{path}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list), path
        assert len(new) == len(old), path
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            same_as_before(a, b, f"{path}[{i}]")
    elif old == "location" and ".fields[" in path:  # the fields a correction patched
        assert new == "place", path
    else:
        assert new == old, f"{path}: was {old!r}, now {new!r}"


def test_the_golden_histories_hold_version_1_events_of_every_changed_kind() -> None:
    events = [e for h in GOLDEN["histories"] for e in h["events"]]
    assert {e["schema_version"] for e in events if e["type"] != "ContextNoted"} == {1}
    kinds = {e["type"] for e in events}
    assert {"MeetingScheduled", "MeetingHeld", "MeetingCancelled", "StatementIssued"} <= kinds
    assert {"AgreementReached", "AgreementStatusChanged", "MilestoneMet", "EventCorrected"} <= kinds
    assert any("location" in e["payload"] for e in events)
    assert any("location" in e["payload"].get("patch", {}) for e in events)
    statuses = {e["payload"]["status"] for e in events if e["type"] == "AgreementStatusChanged"}
    assert {"signed", "ratified", "in_force"} <= statuses


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_every_version_1_event_loads_and_verifies_against_its_stored_bytes(name: str) -> None:
    for wire in HISTORIES[name]["events"]:
        event = RecordedEvent.from_wire(wire, wire["position"])
        assert event.hash_ok(), wire["event_id"]
        assert event.draft.schema_version == type(event.draft).SCHEMA_VERSION
        assert event.wire["schema_version"] == wire["schema_version"]  # bytes as stored


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_every_version_1_history_passes_todays_rules_event_by_event(name: str) -> None:
    facts = Facts()
    for wire in HISTORIES[name]["events"]:
        draft = RecordedEvent.from_wire(wire).draft
        check(facts, draft, datetime.fromisoformat(wire["recorded_at"]))
        facts.absorb(wire)
        assert facts.version == wire["version"]


@pytest.mark.parametrize("projection", sorted(PROJECTIONS))
@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_version_1_histories_render_everything_they_rendered_before(
    name: str, projection: str
) -> None:
    history = HISTORIES[name]
    p = PROJECTIONS[projection]
    new: Any = p.render(p.apply(None, history["events"]), TODAY)
    old = history["renders"][projection]
    if projection == "commitments":  # a list of rows then; the rows are now its milestones
        new = new["milestones"]
    same_as_before(old, new, projection)


def test_the_comparison_notices_a_changed_or_missing_value() -> None:
    with pytest.raises(AssertionError, match="was 'signed', now 'draft'"):
        same_as_before({"a": [{"status": "signed"}]}, {"a": [{"status": "draft"}]})
    with pytest.raises(AssertionError, match="is gone"):
        same_as_before({"a": 1, "b": 2}, {"a": 1})
    with pytest.raises(AssertionError):
        same_as_before({"location": "Rome"}, {"place": {"name": "Erbil"}})
    same_as_before({"location": "Rome", "a": 1}, {"place": {"name": "Rome"}, "a": 1, "b": 2})
