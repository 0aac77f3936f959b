"""The README's commands work as written: its shell and Python examples run, in order, in a
fresh directory while ``talkstream up --demo`` serves there (as after ``make demo``), in a
shell where the virtual environment is not yet on PATH.

Each ```sh and ```python block of the README is preceded by ``<!-- readme-test: run -->`` or
``<!-- readme-test: skip (why) -->``; an unmarked block fails the first test, so a new example
cannot be added without deciding whether it runs here. The only change made to the text is the
API's port: the README says 8000 (the default), the test serves on a free port.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.helpers import serving
from tests.ports import DEFAULT_PORT

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"^(?:<!-- readme-test: (?P<marker>.*?) -->\n)?```(?P<lang>sh|python)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
SKIP = re.compile(r"skip \(.+\)")
PUBLISHED = re.compile(r"^\d+ \d+ [0-9a-f]{64} (True|False)$", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    line: int
    lang: str
    body: str
    marker: str | None

    @property
    def runs(self) -> bool:
        return self.marker == "run"


def examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    return [
        Example(text.count("\n", 0, m.start("lang")) + 1, m["lang"], m["body"], m["marker"])
        for m in BLOCK.finditer(text)
    ]


def _script(port: int) -> str:
    """One shell session, as a user types the examples into one terminal; Python examples go
    to the ``python`` on PATH (the activated venv's)."""
    parts = ["set -eo pipefail"]
    for example in (e for e in examples() if e.runs):
        body = example.body.replace(f"127.0.0.1:{DEFAULT_PORT}", f"127.0.0.1:{port}")
        parts.append(f"echo '### README line {example.line}' | tee /dev/stderr")
        if example.lang == "python":
            body = f"python - <<'README_PYTHON'\n{body}README_PYTHON\n"
        parts.append(body)
    return "\n".join(parts)


def _shell_env(venv_bin: Path) -> dict[str, str]:
    """A new terminal's environment: no talkstream settings, no activated venv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TALKSTREAM_") and k not in ("VIRTUAL_ENV", "FORCE_COLOR")
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != venv_bin]
    env.update(PATH=os.pathsep.join(path), COLUMNS="120", PYTHONIOENCODING="utf-8")
    return env


def test_every_example_says_whether_it_runs_here() -> None:
    found = examples()
    unmarked = [e.line for e in found if e.marker is None]
    assert unmarked == [], f"README blocks without a readme-test marker at lines {unmarked}"
    odd = [(e.line, e.marker) for e in found if not (e.runs or SKIP.fullmatch(str(e.marker)))]
    assert odd == [], "markers are `run` or `skip (why)`"
    assert {e.lang for e in found if e.runs} == {"sh", "python"}


def test_the_readme_examples_work_as_written_while_the_demo_serves(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").exists():
        pytest.fail(f"the tests must run in the project's virtual environment, not {venv}")
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    env = _shell_env(venv / "bin")
    assert shutil.which("talkstream", path=env["PATH"]) is None, "a new terminal lacks it"

    with serving(tmp_path, env, "--demo") as demo:
        done = subprocess.run(
            ["bash", "-c", _script(demo.port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, output
    assert "Traceback" not in done.stderr, output
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == []
    assert "status\nrecorded" in done.stdout, "the intake reply read with redis-cli"
    assert PUBLISHED.search(done.stdout), "the Python client's print"
    assert (tmp_path / "schemas" / "MeetingHeld.json").exists()
