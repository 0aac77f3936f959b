"""``talkstream show`` and ``timeline``: state now, as of a world date, as known at a record
time; corrections; clean errors for unknown negotiations and bad dates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from events import PartialDate
from tests.e2e.helpers import SCENARIO_ID, Runner, as_json, ok, one_error_line

IRAQ_DELEGATION = "iraq-jscd-delegation"
OLD_HEAD = "Thabit al-Abbasi"
NEW_HEAD = "Thabet Muhammad al-Abbasi"


class TestAsOf:
    def test_before_the_joint_statement_there_are_no_agreements(self, demo_cli: Runner) -> None:
        state = as_json(demo_cli("show", SCENARIO_ID, "--json", "--as-of", "2024-08-01"))
        assert state["agreements"] == {}
        assert state["milestones"] == {}
        assert state["status"] == "active"
        assert set(state["meetings"]) == {"biden-sudani-2024-04", "jscd-2"}

    def test_after_the_joint_statement_the_agreement_is_in_force_unsigned(
        self, demo_cli: Runner
    ) -> None:
        state = as_json(demo_cli("show", SCENARIO_ID, "--json", "--as-of", "2024-10-01"))
        assert list(state["agreements"]) == ["joint-statement-2024-09-27"]
        agreement = state["agreements"]["joint-statement-2024-09-27"]
        assert [s["status"] for s in agreement["history"]] == ["adopted", "in_force"]
        milestone = state["milestones"]["coalition-mission-iraq-ends"]
        assert milestone["due"] == {"kind": "not_later_than", "date": "2025-09-30"}
        assert milestone["status"] == "scheduled"
        assert state["status"] == "implementation"
        assert state["version"] == 15


class TestBeforeThereWasAnythingToShow:
    """Nothing was known in 2000, and the talks had not opened by July 2023: one line saying
    so (exit 1, as the API's 404), not an empty state."""

    @pytest.mark.parametrize("command", ["show", "timeline"])
    @pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["table", "json"])
    def test_known_at_before_the_first_record_says_nothing_was_known(
        self, demo_cli: Runner, command: str, as_json: list[str]
    ) -> None:
        rows = json.loads(ok(demo_cli("timeline", SCENARIO_ID, "--json")).stdout)
        first = min(r["recorded_at"] for r in rows)
        result = demo_cli(command, SCENARIO_ID, "--known-at", "2000-01-01", *as_json)
        line = one_error_line(result)
        assert result.returncode == 1
        assert line.startswith("error: not_known_yet: ")
        assert "2000-01-01" in line
        assert first in line

    @pytest.mark.parametrize("command", ["show", "timeline"])
    def test_as_of_before_the_opening_says_the_talks_had_not_opened(
        self, demo_cli: Runner, command: str
    ) -> None:
        result = demo_cli(command, SCENARIO_ID, "--as-of", "2023-07-31")
        line = one_error_line(result)
        assert result.returncode == 1
        assert line.startswith("error: not_opened_yet: ")
        assert "2023-08" in line  # the opening's occurred_at

    def test_as_of_the_opening_month_shows_the_opening(self, demo_cli: Runner) -> None:
        state = as_json(demo_cli("show", SCENARIO_ID, "--json", "--as-of", "2023-08"))
        assert state["status"] == "pre_negotiation"
        assert set(state["parties"]) == {"Iraq", "United States"}


class TestTimelineOrder:
    def test_rows_are_in_partial_date_order_then_position(self, demo_cli: Runner) -> None:
        rows = as_json(demo_cli("timeline", SCENARIO_ID, "--json"))
        assert len(rows) == 15
        keys = [(PartialDate.parse(r["occurred_at"]).sort_key(), r["position"]) for r in rows]
        assert keys == sorted(keys)
        # The year-precision demand ("2024") comes before the April 2024 meeting (position 4).
        assert [r["position"] for r in rows[:5]] == [1, 2, 3, 9, 4]
        assert all(r["corrected_by"] == [] and r["retracted"] is False for r in rows)


@dataclass(frozen=True)
class Corrected:
    cli: Runner
    target: dict[str, Any]  # the Iraqi DelegationAssigned timeline row before the correction
    written: dict[str, Any]  # the answer of `record EventCorrected`
    last_scenario_recorded_at: str


@pytest.fixture(scope="module")
def corrected(make_demo: Callable[[str], Runner]) -> Corrected:
    """The scenario, then a correction of the Iraqi delegation head's name."""
    cli = make_demo("corrected")
    rows = as_json(cli("timeline", SCENARIO_ID, "--json"))
    (target,) = [r for r in rows if r["type"] == "DelegationAssigned" and "Iraq" in r["summary"]]
    last = max(rows, key=lambda r: r["position"])
    correction = {
        "occurred_at": "2024-10-01",
        "sources": [{"outlet": "Test Wire", "kind": "wire"}],
        "verification": "confirmed",
        "payload": {
            "target_event_id": target["event_id"],
            "patch": {
                "head": {
                    "name": NEW_HEAD,
                    "country": "IRQ",
                    "sector": "GOV",
                    "office": "Minister of Defense",
                },
            },
            "reason": "Spelling of the minister's name",
        },
    }
    written = as_json(
        cli(
            "record",
            "EventCorrected",
            "-n",
            SCENARIO_ID,
            "--json",
            "-",
            input=json.dumps(correction),
        )
    )
    return Corrected(cli, target, written, last["recorded_at"])


class TestCorrection:
    def test_is_recorded_as_version_sixteen(self, corrected: Corrected) -> None:
        assert corrected.written["version"] == 16
        assert corrected.written["negotiation_id"] == SCENARIO_ID

    def test_changes_the_current_delegation_head(self, corrected: Corrected) -> None:
        state = as_json(corrected.cli("show", SCENARIO_ID, "--json"))
        delegation = state["delegations"][IRAQ_DELEGATION]
        assert delegation["head"]["name"] == NEW_HEAD
        assert delegation["corrected"] is True
        assert [c["target_event_id"] for c in state["corrections"]] == [
            corrected.target["event_id"]
        ]
        assert state["version"] == 16
        assert state["status"] == "implementation"

    def test_is_not_known_before_it_was_recorded(self, corrected: Corrected) -> None:
        state = as_json(
            corrected.cli(
                "show", SCENARIO_ID, "--json", "--known-at", corrected.last_scenario_recorded_at
            )
        )
        assert state["delegations"][IRAQ_DELEGATION]["head"]["name"] == OLD_HEAD
        assert state["corrections"] == []
        assert state["version"] == 15

    def test_marks_the_corrected_timeline_row(self, corrected: Corrected) -> None:
        rows = as_json(corrected.cli("timeline", SCENARIO_ID, "--json"))
        assert len(rows) == 15  # the correction itself is not a row
        by_id = {r["event_id"]: r for r in rows}
        row = by_id[corrected.target["event_id"]]
        assert row["corrected_by"] == [corrected.written["event_id"]]
        assert NEW_HEAD in row["summary"]
        others = [r for r in rows if r["event_id"] != corrected.target["event_id"]]
        assert all(r["corrected_by"] == [] for r in others)
        keys = [(PartialDate.parse(r["occurred_at"]).sort_key(), r["position"]) for r in rows]
        assert keys == sorted(keys)


class TestCleanErrors:
    @pytest.mark.parametrize("command", ["show", "timeline"])
    def test_unknown_negotiation_is_one_line_naming_it(
        self, demo_cli: Runner, command: str
    ) -> None:
        line = one_error_line(demo_cli(command, "no-such-talks"))
        assert "no-such-talks" in line

    def test_month_thirteen_as_of_names_the_option(self, demo_cli: Runner) -> None:
        line = one_error_line(demo_cli("show", SCENARIO_ID, "--as-of", "2024-13"))
        assert "--as-of" in line
        assert "2024-13" in line

    def test_unparseable_known_at_names_the_option(self, demo_cli: Runner) -> None:
        line = one_error_line(demo_cli("timeline", SCENARIO_ID, "--known-at", "yesterday"))
        assert "--known-at" in line
