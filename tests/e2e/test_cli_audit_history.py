"""``talkstream audit log ID`` lists every stored event of a negotiation (position, principal,
sources, hash); ``talkstream audit replay ID --known-at TS | --checkpoint SIZE`` shows the
negotiation as the tracker showed it then, and what was recorded since."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest

from tests.e2e.helpers import SCENARIO_ID, Runner, ok
from tests.factories import body


@pytest.fixture(scope="module")
def grown(make_demo: Callable[[str], Runner]) -> Runner:
    """The scenario (15 events) checkpointed, then one more event, checkpointed again."""
    cli = make_demo("history")
    ok(cli("audit", "checkpoint"))
    note = cli.base / "note.json"
    note.write_text(json.dumps(body("ContextNoted", {"topic": "T", "text": "later"}, SCENARIO_ID)))
    ok(cli("record", "ContextNoted", "-n", SCENARIO_ID, "--json", note))
    ok(cli("audit", "checkpoint"))
    return cli


def _log(cli: Runner) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(
        ok(cli("audit", "log", SCENARIO_ID, "--json")).stdout
    )
    return rows


def test_the_log_lists_every_event_with_position_principal_sources_and_hash(
    grown: Runner,
) -> None:
    rows = _log(grown)
    assert [r["position"] for r in rows] == list(range(1, 17))
    assert rows[-1]["type"] == "ContextNoted" and rows[-1]["recorded_by"] == rows[0]["recorded_by"]
    assert all(r["sources"] for r in rows)
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["hash"]
    table = ok(grown("audit", "log", SCENARIO_ID)).stdout
    assert f"Events of {SCENARIO_ID}" in table and str(rows[0]["hash"])[:8] in table


def test_replay_at_a_checkpoint_shows_what_it_held_and_what_came_since(grown: Runner) -> None:
    shown = json.loads(
        ok(grown("audit", "replay", SCENARIO_ID, "--checkpoint", 15, "--json")).stdout
    )
    assert shown["view"]["version"] == 15 and shown["view"]["position"] == 15
    assert [r["position"] for r in shown["since"]] == [16]
    latest = json.loads(
        ok(grown("audit", "replay", SCENARIO_ID, "--checkpoint", 16, "--json")).stdout
    )
    assert latest["view"]["version"] == 16 and latest["since"] == []
    table = ok(grown("audit", "replay", SCENARIO_ID, "--checkpoint", 15)).stdout
    assert (
        "at checkpoint 15 (through position 15)" in table and "Recorded since (1 events)" in table
    )


def test_replay_known_at_a_record_time(grown: Runner) -> None:
    rows = _log(grown)
    then = str(rows[14]["recorded_at"])
    assert then != rows[15]["recorded_at"]
    shown = json.loads(
        ok(grown("audit", "replay", SCENARIO_ID, "--known-at", then, "--json")).stdout
    )
    assert shown["view"]["version"] == 15
    assert [r["position"] for r in shown["since"]] == [16]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--checkpoint", 7),
            "error: no_checkpoint: --checkpoint: the log has no checkpoint of size",
        ),
        ((), "error: invalid_option: give exactly one of --known-at and --checkpoint"),
        (("--known-at", "2001"), "error: not_known_yet: "),
        (("--known-at", "yesterday"), "error: "),
    ],
)
def test_replay_refuses_with_one_line(grown: Runner, args: tuple[object, ...], line: str) -> None:
    refused = grown("audit", "replay", SCENARIO_ID, *args)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith(line) and "Traceback" not in refused.stderr


def test_an_unknown_negotiation_is_one_line(grown: Runner) -> None:
    refused = grown("audit", "log", "no-such-talks")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")
