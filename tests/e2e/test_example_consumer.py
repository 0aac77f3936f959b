"""The documented consumer (docs/examples/read_changes.py) works against ``talkstream up
--demo``: it prints the state, the events known as of a date with their hashes checked, and
the view changes it follows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.helpers import SCENARIO_ID, Runner, serving

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "read_changes.py"
KEY = re.compile(r"reader key \(shown once\):\s+(tsk_\S+)")


def test_the_example_consumer_reads_state_events_and_changes(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    with serving(tmp_path, cli.environment(), "--demo") as up:
        found = KEY.search(up.stdout())
        env = cli.environment({"TALKSTREAM_URL": up.url})
        if found:
            env["TALKSTREAM_KEY"] = found.group(1)
        done = subprocess.run(
            [sys.executable, str(EXAMPLE), SCENARIO_ID, "--changes", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{SCENARIO_ID}: implementation at position 15"
    assert re.fullmatch(r"as of 2024-06: \d+ events, hashes ok", lines[1])
    assert re.fullmatch(r"change \d+-\d+: negotiation now at position \d+", lines[2])
