"""The data package's tables: one events row per visible event with the envelope flattened,
actors named once per negotiation, a row per cited source, milestones and their status
history; CSV cells read back with the csv module; a package written with them validates with
frictionless."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from frictionless import validate

from events import RecordedEvent
from projections.tables import SCHEMAS, TABLES, columns, csv_text, tables_at
from services.cli.package import write_package
from services.recorder.application import Negotiations
from tests import factories as f
from tests.unit.projections.support import date


def _wires(events: list[RecordedEvent]) -> list[dict[str, object]]:
    return [dict(e.wire) for e in events]


def test_every_event_is_one_row_with_its_envelope_in_columns(
    scenario: list[RecordedEvent],
) -> None:
    rows = tables_at(_wires(scenario), as_of=None, known_at=None)["events"]
    assert [r["event_id"] for r in rows] == [e.event_id for e in scenario]
    first = rows[0]
    assert first["type"] == "NegotiationOpened"
    assert first["source_count"] == len(scenario[0].wire["sources"])
    assert first["payload"] == scenario[0].wire["payload"]
    assert set(first) == set(columns("events"))


def test_as_of_keeps_only_what_had_happened(scenario: list[RecordedEvent]) -> None:
    everything = tables_at(_wires(scenario), as_of=None, known_at=None)
    early = tables_at(_wires(scenario), as_of=date("2024-06"), known_at=None)
    assert 0 < len(early["events"]) < len(everything["events"])
    assert all(r["occurred_at"] < "2024-07" for r in early["events"])
    assert early["milestones"] == []


def test_milestones_carry_their_status_history(memory_app: Negotiations) -> None:
    memory_app.record_many(
        [*f.started(), f.milestone("m-1"), f.settled("m-1")], principal="analyst"
    )
    tables = tables_at(memory_app.wires(f.NID), as_of=None, known_at=None)
    assert [(m["milestone_id"], m["status"]) for m in tables["milestones"]] == [("m-1", "met")]
    history = [(h["step"], h["status"]) for h in tables["milestone_history"]]
    assert history == [(1, "scheduled"), (2, "met")]


def test_actors_are_named_once_per_negotiation_with_their_party_role(
    scenario: list[RecordedEvent],
) -> None:
    actors = tables_at(_wires(scenario), as_of=None, known_at=None)["actors"]
    names = [a["name"] for a in actors]
    assert len(names) == len(set(names))
    iraq = next(a for a in actors if a["name"] == "Iraq")
    assert iraq["role"] == "party"
    assert iraq["mentions"] >= 2


def test_sources_are_one_row_per_citation(scenario: list[RecordedEvent]) -> None:
    sources = tables_at(_wires(scenario), as_of=None, known_at=None)["sources"]
    assert len(sources) == sum(len(e.wire["sources"]) for e in scenario)


def test_csv_cells_read_back_with_the_csv_module(scenario: list[RecordedEvent]) -> None:
    rows = tables_at(_wires(scenario), as_of=None, known_at=None)["events"]
    read = list(csv.DictReader(io.StringIO(csv_text("events", rows))))
    assert len(read) == len(rows)
    assert json.loads(read[0]["payload"]) == rows[0]["payload"]
    assert read[0]["occurred_until"] == ""
    assert int(read[-1]["position"]) == rows[-1]["position"]


def test_a_written_package_validates_with_frictionless(
    scenario: list[RecordedEvent], tmp_path: Path
) -> None:
    share = tables_at(_wires(scenario), as_of=None, known_at=None)
    path = write_package(tmp_path, [share], name="talkstream-test", description="test")
    report = validate(str(path))
    assert report.valid, report.flatten(["resourcePath", "rowNumber", "fieldName", "note"])
    descriptor = json.loads(path.read_text())
    assert [r["path"] for r in descriptor["resources"]] == [f"{t}.csv" for t in TABLES]
    assert descriptor["resources"][0]["schema"]["fields"] == SCHEMAS["events"]["fields"]


def test_a_package_with_a_broken_row_does_not_validate(
    scenario: list[RecordedEvent], tmp_path: Path
) -> None:
    share = tables_at(_wires(scenario), as_of=None, known_at=None)
    share["events"][0]["position"] = "not a number"
    path = write_package(tmp_path, [share], name="talkstream-test", description="test")
    assert not validate(str(path)).valid
