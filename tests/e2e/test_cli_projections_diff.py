"""``talkstream diff ID --from --to [--clock world|record] [--json]`` on the bundled scenario."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import SCENARIO_ID, Runner, as_json, ok, one_error_line

AGREEMENT = "joint-statement-2024-09-27"
MILESTONES = ("coalition-mission-iraq-ends", "kurdistan-syria-support-ends")


@pytest.fixture(scope="module")
def event_ids(demo_cli: Runner) -> dict[str, list[str]]:
    """The scenario's event ids by type, in record order."""
    rows = as_json(demo_cli("timeline", SCENARIO_ID, "--json"))
    found: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: r["position"]):
        found.setdefault(row["type"], []).append(row["event_id"])
    return found


def by_key(changes: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["section"], c["id"]): c for c in changes}


def test_world_time_diff_lists_the_joint_statement_and_its_causes(
    demo_cli: Runner, event_ids: dict[str, list[str]]
) -> None:
    changes = as_json(
        demo_cli("diff", SCENARIO_ID, "--from", "2024-08-01", "--to", "2024-10-01", "--json")
    )
    found = by_key(changes)
    assert list(found) == [
        ("negotiation", "status"),
        ("agreements", AGREEMENT),
        *(("milestones", m) for m in MILESTONES),
    ]
    status = found["negotiation", "status"]
    assert (status["before"], status["after"]) == ("active", "implementation")
    agreement = found["agreements", AGREEMENT]
    assert agreement["change"] == "added"
    assert agreement["after"]["status"] == "in_force"
    assert agreement["events"] == sorted(
        event_ids["AgreementReached"] + event_ids["AgreementStatusChanged"]
    )
    for milestone, scheduled in zip(MILESTONES, event_ids["MilestoneScheduled"], strict=True):
        assert found["milestones", milestone]["change"] == "added"
        assert found["milestones", milestone]["events"] == [scheduled]


def test_the_table_names_the_span_and_the_number_of_changes(demo_cli: Runner) -> None:
    out = ok(demo_cli("diff", SCENARIO_ID, "--from", "2024-08-01", "--to", "2024-10-01")).stdout
    assert "4 changes" in out
    assert AGREEMENT in out


def test_record_time_diff_from_before_anything_was_recorded_adds_everything(
    demo_cli: Runner,
) -> None:
    changes = as_json(
        demo_cli(
            "diff", SCENARIO_ID, "--clock", "record", "--from", "2000", "--to", "2999", "--json"
        )
    )
    found = by_key(changes)
    assert found["negotiation", "status"]["after"] == "implementation"
    assert found["agreements", AGREEMENT]["change"] == "added"
    assert {("parties", "Iraq"), ("parties", "United States")} <= found.keys()
    assert all(c["change"] == "added" for c in changes if c["section"] != "negotiation")


def test_record_time_diff_after_everything_was_recorded_is_empty(demo_cli: Runner) -> None:
    changes = as_json(
        demo_cli(
            "diff", SCENARIO_ID, "--clock", "record", "--from", "2998", "--to", "2999", "--json"
        )
    )
    assert changes == []


def test_a_bad_clock_is_one_error_line(demo_cli: Runner) -> None:
    line = one_error_line(
        demo_cli("diff", SCENARIO_ID, "--clock", "wall", "--from", "2024", "--to", "2025")
    )
    assert "--clock" in line


@pytest.mark.parametrize(("flag", "bad"), [("--from", "2024-13"), ("--to", "yesterday")])
def test_a_bad_date_is_one_error_line_naming_the_option(
    demo_cli: Runner, flag: str, bad: str
) -> None:
    dates = {"--from": "2024-08-01", "--to": "2024-10-01", flag: bad}
    line = one_error_line(demo_cli("diff", SCENARIO_ID, *(x for kv in dates.items() for x in kv)))
    assert flag in line


def test_an_unknown_negotiation_is_one_error_line(demo_cli: Runner) -> None:
    line = one_error_line(demo_cli("diff", "no-such-talks", "--from", "2024", "--to", "2025"))
    assert "no-such-talks" in line
