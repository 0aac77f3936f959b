"""``talkstream import`` as the installed command on a few larger hostile files (the many small
ones run in process: tests/integration/test_import_fuzz.py): recorded whole or refused with
one ``error:`` line naming the line, nothing stored, never a traceback."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.e2e.helpers import Runner
from tests.factories import scenario
from tests.integration.test_import_fuzz import Line, check_outcome, hostile_lines, write


def position(cli: Runner) -> int:
    app = build_application(Settings(home=cli.home))
    try:
        return app.max_position()
    finally:
        app.close()


def test_larger_hostile_files_are_recorded_whole_or_refused_with_one_line(cli: Runner) -> None:
    app = build_application(Settings(home=cli.home))
    app.record_many(scenario(), principal="seed")
    app.close()

    @settings(
        max_examples=3,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # each example is a process: report, not shrink
    )
    @given(lines=st.lists(hostile_lines(), min_size=100, max_size=200))
    def check(lines: list[Line]) -> None:
        before = position(cli)
        result = cli("import", write(cli.base / "hostile.jsonl", lines))
        check_outcome(lines, result.returncode, result.stderr, position(cli) - before)

    check()
