"""``services.cli.render``: recorded text reaches the terminal with every control and bidi
character escaped, rich markup in data stays literal, and JSON output stays the same data."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from services.cli import render

TERMINAL_ACTS_ON = [
    pytest.param("\x1b", r"\x1b", id="ESC"),
    pytest.param("\x07", r"\x07", id="BEL"),
    pytest.param("\x00", r"\x00", id="NUL"),
    pytest.param("\r", r"\x0d", id="CR"),
    pytest.param("\x08", r"\x08", id="BS"),
    pytest.param("\x7f", r"\x7f", id="DEL"),
    pytest.param("\x9b", r"\x9b", id="C1-CSI"),
    pytest.param("\x9d", r"\x9d", id="C1-OSC"),
    pytest.param("\u202e", r"\u202e", id="RLO"),
    pytest.param("\u2066", r"\u2066", id="LRI"),
    pytest.param("\u200f", r"\u200f", id="RLM"),
    pytest.param("\u2028", r"\u2028", id="LINE-SEPARATOR"),
]


@pytest.mark.parametrize(("raw", "shown"), TERMINAL_ACTS_ON)
def test_a_control_character_is_shown_as_an_escape(raw: str, shown: str) -> None:
    assert render.visible(f"a{raw}b") == f"a{shown}b"


@pytest.mark.parametrize("kept", ["line\nbreak", "tab\there", "café", "العراق", "👩‍👩‍👧", "[/]"])
def test_ordinary_text_is_left_as_it_is(kept: str) -> None:
    assert render.visible(kept) == kept


def test_markup_in_data_is_printed_as_text() -> None:
    out = io.StringIO()
    Console(file=out, width=80).print(render.text("[/] and [bold red]x"))
    assert out.getvalue() == "[/] and [bold red]x\n"


def test_a_table_of_hostile_rows_prints_no_raw_control_character() -> None:
    hostile = "\x1b]0;t\x07\x1b[2J\x9b31m\u202e[/]"
    row = {"key_id": hostile, "name": hostile, "role": "admin", "created_at": "x"}
    out = io.StringIO()
    Console(file=out, width=200).print(render.keys_table([{**row, "revoked_at": None}]))
    printed = out.getvalue()
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(printed)
    assert r"\x1b]0;t\x07\x1b[2J\x9b31m\u202e[/]" in printed


def test_json_text_is_valid_json_of_the_same_data_without_raw_controls() -> None:
    data = {"title": "a\x1b[31m\x9b\u202e\x7f\u2029b", "n": [1, "é"]}
    printed = render.json_text(data)
    assert json.loads(printed) == data
    assert not {"\x1b", "\x9b", "\u202e", "\x7f", "\u2029"} & set(printed)
    assert "é" in printed
