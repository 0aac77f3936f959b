"""The coded fields through the CLI: bad grades, degrees, language tags and coordinates are
refused with one line naming the field and nothing is stored; the bundled scenario shows its
graded sources, its places, the joint statement's stage and truthful path, and the
implementation score as of a date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Runner, as_json, ok, one_error_line
from tests.factories import NID, body, opening_body, quote

SCENARIO_ID = "us-iraq-jscd"


def write(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


@pytest.fixture
def opened(cli: Runner, tmp_path: Path) -> Runner:
    ok(
        cli(
            "record",
            "NegotiationOpened",
            "-n",
            NID,
            "--json",
            write(tmp_path / "o.json", opening_body()),
        )
    )
    return cli


@pytest.mark.parametrize(
    ("kind", "event", "field"),
    [
        (
            "StatementIssued",
            body("StatementIssued", {**quote("Hello."), "lang": "english"}),
            "payload.lang",
        ),
        (
            "MeetingHeld",
            body(
                "MeetingHeld",
                {"meeting_id": "m", "mode": "host", "place": {"name": "X", "lat": 200, "lon": 0}},
            ),
            "payload.place.lat",
        ),
        (
            "ContextNoted",
            body(
                "ContextNoted",
                {"topic": "t", "text": "x"},
                sources=[{"outlet": "AP", "kind": "wire", "reliability": "G"}],
            ),
            "sources.0.reliability",
        ),
        (
            "MilestoneProgressed",
            body("MilestoneProgressed", {"milestone_id": "m", "degree": 4}),
            "payload.degree",
        ),
    ],
)
def test_a_bad_coded_value_is_one_error_line_and_stores_nothing(
    opened: Runner, tmp_path: Path, kind: str, event: dict[str, Any], field: str
) -> None:
    path = write(tmp_path / "bad.json", event)
    line = one_error_line(opened("record", kind, "-n", NID, "--json", path))
    assert f"invalid_event: {field}:" in line
    assert as_json(opened("show", NID, "--json"))["version"] == 1


def test_the_scenario_codes_its_sources_places_and_the_joint_statement(
    demo_cli: Runner,
) -> None:
    state = as_json(demo_cli("show", SCENARIO_ID, "--json"))
    agreement = state["agreements"]["joint-statement-2024-09-27"]
    assert (agreement["form"], agreement["stage"]) == ("joint_statement", "framework_partial")
    assert [step["status"] for step in agreement["history"]] == ["adopted", "in_force"]
    assert agreement["grades"] == ["A1"]
    pentagon = state["meetings"]["jscd-2"]["place"]
    assert (pentagon["country"], pentagon["precision"]) == ("USA", 1)
    assert "geonames_id" not in pentagon and "wikidata" not in pentagon
    assert state["meetings"]["biden-sudani-2024-04"]["place"]["name"].startswith("The White House")
    timeline = ok(demo_cli("timeline", SCENARIO_ID)).stdout
    assert "(A1)" in timeline and "(F3)" in timeline


def test_show_as_of_a_date_gives_the_implementation_score(demo_cli: Runner) -> None:
    out = ok(demo_cli("show", SCENARIO_ID, "--as-of", "2024-10-01")).stdout
    assert "Implementation" in out
    assert "0 of 3" in out


def test_the_timeline_filters_by_grade_and_verification(demo_cli: Runner) -> None:
    def types(*options: str) -> list[str]:
        rows = as_json(demo_cli("timeline", SCENARIO_ID, "--json", *options))
        return sorted(r["type"] for r in rows)

    assert len(types()) == 15
    assert types("--min-reliability", "A") == sorted(
        ["AgreementReached", "AgreementStatusChanged", "MilestoneScheduled", "MilestoneScheduled"]
    )
    assert types("--verification", "reported") == ["ContextNoted", "DemandMade", "PositionStated"]
    assert len(types("--min-reliability", "B", "--verification", "confirmed")) == 12
    assert len(types("--verification", "reported", "--verification", "confirmed")) == 15


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["--min-reliability", "G"], "--min-reliability"),
        (["--verification", "sure"], "--verification"),
    ],
)
def test_a_bad_timeline_filter_is_one_error_line(
    demo_cli: Runner, options: list[str], field: str
) -> None:
    line = one_error_line(demo_cli("timeline", SCENARIO_ID, *options))
    assert f"invalid_option: {field}: choose one of" in line
