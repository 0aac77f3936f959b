"""Recorded text that carries terminal escape sequences, other control characters, bidi
overrides or rich markup: every CLI table shows it visibly escaped and never sends it raw to the
terminal; ``--json`` prints valid JSON of the text exactly as recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.helpers import Runner, as_json, ok, one_error_line, write_jsonl
from tests.factories import IRAQ, MEETING, NID, body, opening_body

# An OSC window title, a screen clear, a colour, an 8-bit CSI, bidi overrides, a carriage
# return, DEL, a line separator, and rich markup (one tag that would crash it, one that styles).
HOSTILE = "A\x1b]0;pwned\x07B\x1b[2J\x1b[31mC\x9b1mD\u202eE\u2066F\rG[/]H[bold red]I\x7fJ\u2028K"
# Anything a terminal could act on: C0 controls but newline, DEL, C1, bidi controls, separators.
RAW = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)


@pytest.fixture(scope="module")
def hostile_cli(
    tmp_path_factory: pytest.TempPathFactory, make_cli: Callable[[Path], Runner]
) -> Runner:
    cli = make_cli(tmp_path_factory.mktemp("hostile"))
    opening = opening_body()
    opening["payload"]["title"] = HOSTILE
    opening["payload"]["issues"][0]["title"] = HOSTILE
    statement = {
        "statement_id": "s-1",
        "speaker": {"name": HOSTILE, "office": HOSTILE},
        "quote": HOSTILE,
        "stances": [],
    }
    lines = [
        opening,
        body("PartyJoined", {"party": {**IRAQ, "name": HOSTILE}, "role": "party"}),
        body("StatementIssued", statement),
        body("ContextNoted", {"topic": HOSTILE, "text": HOSTILE}),
        body("MeetingHeld", {**MEETING, "place": {"name": HOSTILE}}),
    ]
    ok(cli("import", write_jsonl(cli.base / "hostile.jsonl", lines)))
    return cli


def assert_nothing_raw(text: str) -> None:
    found = sorted({hex(ord(c)) for c in RAW.findall(text)})
    assert not found, f"raw control characters reached the terminal: {found}"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["show", NID], id="show"),
        pytest.param(["timeline", NID], id="timeline"),
        pytest.param(
            ["diff", NID, "--clock", "record", "--from", "2000", "--to", "2999"], id="diff"
        ),
    ],
)
def test_tables_show_control_characters_escaped(hostile_cli: Runner, args: list[str]) -> None:
    result = ok(hostile_cli(*args))
    assert_nothing_raw(result.stdout)
    assert_nothing_raw(result.stderr)
    assert "Traceback" not in result.stderr


def test_show_renders_each_character_visibly(hostile_cli: Runner) -> None:
    out = ok(hostile_cli("show", NID)).stdout
    for escaped in (r"\x1b]0;pwned\x07B", r"\x1b[2J", r"\x9b1mD", r"\u202eE", r"\u2066F", r"\x0dG"):
        assert escaped in out, escaped
    assert "[/]H[bold red]I" in out  # markup in data is text, not style


@pytest.mark.parametrize("command", ["show", "timeline"])
def test_json_output_is_valid_and_keeps_the_text_as_recorded(
    hostile_cli: Runner, command: str
) -> None:
    result = ok(hostile_cli(command, NID, "--json"))
    assert_nothing_raw(result.stdout.replace("\n", ""))
    data = json.loads(result.stdout)
    if command == "show":
        assert data["title"] == HOSTILE
        assert data["statements"]["s-1"]["quote"] == HOSTILE
    else:
        assert any(HOSTILE in row["summary"] for row in data)


def test_an_error_line_escapes_control_characters_from_the_input(
    hostile_cli: Runner,
) -> None:
    event = body("ContextNoted", {"topic": "t", "text": "x", f"bad{HOSTILE}": 1})
    path = hostile_cli.base / "bad.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    result = hostile_cli("record", "ContextNoted", "-n", NID, "--json", path)
    line = one_error_line(result)
    assert_nothing_raw(result.stderr.replace("\n", ""))
    assert r"\x1b" in line
    assert as_json(hostile_cli("show", NID, "--json"))["version"] == 5
