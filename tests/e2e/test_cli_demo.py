"""``talkstream demo --no-serve``: records the bundled scenario once, prints state, timeline
and the audit result; a second run records nothing new."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import SCENARIO_ID, Runner, as_json, ok


@dataclass(frozen=True)
class TwoDemos:
    first: subprocess.CompletedProcess[str]
    before: dict[str, Any]
    second: subprocess.CompletedProcess[str]
    after: dict[str, Any]


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory, make_cli: Callable[[Path], Runner]) -> TwoDemos:
    cli = make_cli(tmp_path_factory.mktemp("demo"))
    first = cli("demo", "--no-serve")
    before = as_json(cli("show", SCENARIO_ID, "--json"))
    second = cli("demo", "--no-serve")
    after = as_json(cli("show", SCENARIO_ID, "--json"))
    return TwoDemos(first, before, second, after)


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


class TestFirstDemoRun:
    def test_exits_zero_and_reports_fifteen_new_events(self, demos: TwoDemos) -> None:
        ok(demos.first)
        assert "recorded 15 new events, 0 already present" in demos.first.stderr

    def test_prints_the_negotiation_title_and_status(self, demos: TwoDemos) -> None:
        out = demos.first.stdout
        assert "U.S.–Iraq Joint Security Cooperation Dialogue" in out
        assert f"({SCENARIO_ID})" in out
        status = lines_with(out, "Status")
        assert status and "implementation" in status[0]

    def test_prints_the_joint_statement_as_in_force(self, demos: TwoDemos) -> None:
        rows = lines_with(demos.first.stdout, "joint-statement-2024-09-27")
        assert rows, demos.first.stdout
        assert "in_force" in rows[0]
        assert "joint_statement" in rows[0]

    def test_prints_both_milestones_with_their_due_dates(self, demos: TwoDemos) -> None:
        out = demos.first.stdout
        mission = lines_with(out, "coalition-mission-iraq-ends")
        kurdistan = lines_with(out, "kurdistan-syria-support-ends")
        assert mission and "2025-09-30" in mission[0] and "scheduled" in mission[0]
        assert kurdistan and "2026-09" in kurdistan[0] and "scheduled" in kurdistan[0]

    def test_prints_a_timeline_in_world_time_order(self, demos: TwoDemos) -> None:
        out = demos.first.stdout
        assert f"Timeline of {SCENARIO_ID}" in out
        timeline = out[out.index(f"Timeline of {SCENARIO_ID}") :]
        order = [
            "NegotiationOpened",
            "DemandMade",  # occurred_at "2024" sorts before 2024-04-15
            "MeetingHeld",
            "DelegationAssigned",
            "AgreementReached",
            "AgreementStatusChanged",
            "MilestoneScheduled",
        ]
        positions = [timeline.index(kind) for kind in order]
        assert positions == sorted(positions)

    def test_ends_with_a_passing_audit(self, demos: TwoDemos) -> None:
        assert "audit ok: 15 events verified up to position 15" in demos.first.stdout
        assert demos.first.stdout.rstrip().splitlines()[-1].startswith("audit ok")


class TestSecondDemoRun:
    def test_records_nothing_new(self, demos: TwoDemos) -> None:
        ok(demos.second)
        assert "recorded 0 new events, 15 already present" in demos.second.stderr

    def test_leaves_the_negotiation_at_version_fifteen(self, demos: TwoDemos) -> None:
        assert demos.before["version"] == 15
        assert demos.after["version"] == 15
        assert demos.after == demos.before

    def test_still_prints_state_and_a_passing_audit(self, demos: TwoDemos) -> None:
        assert "implementation" in demos.second.stdout
        assert "audit ok: 15 events verified up to position 15" in demos.second.stdout
