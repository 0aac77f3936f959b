"""The rules on a negotiation's opening through the CLI: its retraction is refused, and so are
an implausibly early date and the talks' own events dated before it; background may be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import Runner, as_json, ok, one_error_line
from tests.factories import MEETING, NID, NOTE, body, opening_body


def record(cli: Runner, event: dict[str, Any]) -> Any:
    path = cli.base / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return cli("record", event["type"], "-n", NID, "--json", path)


@pytest.fixture
def opened(cli: Runner, tmp_path: Path) -> tuple[Runner, str]:
    written = as_json(record(cli, opening_body()))
    return cli, written["event_id"]


def test_retracting_the_opening_is_one_error_line_and_stores_nothing(
    opened: tuple[Runner, str],
) -> None:
    cli, opening = opened
    retraction = body("EventRetracted", {"target_event_id": opening, "reason": "Mistake"})
    line = one_error_line(record(cli, retraction))
    assert line.startswith("error: opening_not_retractable: ")
    state = as_json(cli("show", NID, "--json"))
    assert (state["version"], state["title"], state["retracted"]) == (1, "Talks", [])


@pytest.mark.parametrize(
    ("event", "code"),
    [
        pytest.param(body("ContextNoted", NOTE, occurred_at="0001"), "occurred_implausibly_early"),
        pytest.param(
            body("MeetingHeld", MEETING, occurred_at="2023-07-31"), "occurred_before_opening"
        ),
    ],
    ids=["year-0001", "meeting-before-opening"],
)
def test_dates_before_what_they_may_follow_are_refused(
    opened: tuple[Runner, str], event: dict[str, Any], code: str
) -> None:
    cli, _ = opened
    line = one_error_line(record(cli, event))
    assert line.startswith(f"error: {code}: ")
    assert as_json(cli("show", NID, "--json"))["version"] == 1


def test_background_dated_before_the_opening_is_recorded(opened: tuple[Runner, str]) -> None:
    cli, _ = opened
    ok(record(cli, body("ContextNoted", NOTE, occurred_at="2003-03-20")))
    rows = as_json(cli("timeline", NID, "--json"))
    assert [r["type"] for r in rows] == ["ContextNoted", "NegotiationOpened"]
