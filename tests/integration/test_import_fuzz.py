"""Fuzzing ``talkstream import`` with hostile JSON Lines files (tests/hostile_json.py and raw
lines), through the command itself run in this process (typer's runner) on a real SQLite
store holding the bundled scenario; tests/e2e/test_cli_import_fuzz.py runs the installed
command on a few larger files.

A file is recorded whole, with a surely invalid line never among it, or refused with one
``error:`` line naming the line and nothing stored; never a traceback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from services.cli import app as talkstream
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.factories import scenario
from tests.hostile_json import hostile_events, scenario_events

EXAMPLES = 150
RECORDED = re.compile(r"recorded (\d+) new events, (\d+) already present")


@dataclass(frozen=True)
class Line:
    text: str
    surely_invalid: bool
    why: str


def hostile_lines() -> st.SearchStrategy[Line]:
    events = hostile_events(scenario_events()).map(lambda c: Line(c.text, c.surely_invalid, c.why))
    raw = st.text(max_size=40).filter(lambda t: "\n" not in t)
    return st.one_of(
        events, events, events, raw.map(lambda t: Line(t, bool(t.strip()), "raw text"))
    )


def hostile_files() -> st.SearchStrategy[list[Line]]:
    return st.lists(hostile_lines(), min_size=1, max_size=6)


def write(path: Path, lines: list[Line]) -> Path:
    path.write_text("\n".join(line.text for line in lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Store:
    home: Path

    def position(self) -> int:
        app = build_application(Settings(home=self.home))
        try:
            return app.max_position()
        finally:
            app.close()


def check_import(store: Store, path: Path, lines: list[Line], run: CliRunner) -> None:
    """Runs ``talkstream import PATH`` in this process and checks the outcome."""
    before = store.position()
    result = run.invoke(talkstream, ["import", str(path)], env={"TALKSTREAM_HOME": str(store.home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r} for {[line.why for line in lines]}"
    )
    check_outcome(lines, result.exit_code, result.stderr, store.position() - before)


def check_outcome(lines: list[Line], exit_code: int, stderr: str, moved: int) -> None:
    """A file recorded whole (no surely invalid line in it), or refused with one ``error:``
    line naming the line and nothing stored; no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    if exit_code == 0:
        invalid = [line.why for line in lines if line.surely_invalid]
        assert not invalid, f"imported a file with surely invalid lines: {invalid}"
        counts = RECORDED.search(stderr)
        assert counts and not errors, stderr
        assert moved == int(counts.group(1))
    else:
        assert len(errors) == 1 and "line " in errors[0], stderr
        assert moved == 0, "a refused import stored events"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    home = tmp_path / "home"
    app = build_application(Settings(home=home))
    app.record_many(scenario(), principal="seed")
    app.close()
    return Store(home)


def test_hostile_files_are_recorded_whole_or_refused_with_one_line(
    store: Store, tmp_path: Path
) -> None:
    run = CliRunner()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(lines=hostile_files())
    def check(lines: list[Line]) -> None:
        check_import(store, write(tmp_path / "hostile.jsonl", lines), lines, run)

    check()
