"""The benchmarks stay outside the runtime's import graph: serving loads none of them, and the
HTTP benchmarks, whose client (httpx) comes with the ``bench`` extra only, say how to install
it when it is missing."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.helpers import TALKSTREAM, Runner, ok

BENCH_LOADED = "print(any(m.startswith('services.bench') for m in sys.modules))"


def python(code: str, runner: Runner) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=runner.base,
        env=runner.environment(),
        check=False,
    )


def test_importing_the_runtime_and_the_api_loads_no_benchmark(cli: Runner) -> None:
    modules = "services.runtime.server, services.runtime.runner, services.api.app"
    result = python(f"import {modules}, sys; {BENCH_LOADED}", cli)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_talkstream_up_loads_no_benchmark(cli: Runner) -> None:
    """``up --help`` goes through everything the command does before it serves (the rest of
    ``up`` is services.runtime, which the floors test keeps away from services.bench)."""
    result = subprocess.run(
        [str(TALKSTREAM), "up", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cli.base,
        env={**cli.environment(), "PYTHONPROFILEIMPORTTIME": "1"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "services.cli.commands" in imported  # the import log is there
    assert [m for m in imported if m.startswith("services.bench")] == []


def test_bench_page_without_selenium_says_how_to_install_it(cli: Runner) -> None:
    result = python(
        "import sys\n"
        "sys.modules['selenium'] = None  # what an install without the bench extra finds\n"
        "sys.argv = ['talkstream', 'bench', 'page']\n"
        "from services.cli import main\n"
        "main()\n",
        cli,
    )

    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    needs = "error: bench_extra_missing: `talkstream bench page` needs selenium"
    assert line.startswith(needs)
    assert "pip install 'talkstream[bench]'" in line


def test_bench_page_without_a_browser_says_how_to_install_one(cli: Runner) -> None:
    result = cli("bench", "page", env={"TALKSTREAM_CHROMIUM": str(cli.base / "no-chromium")})

    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: browser_missing: `talkstream bench page` renders in Chromium")
    assert "apt-get install chromium chromium-driver" in line


def test_bench_verify_prints_its_ratios(cli: Runner) -> None:
    done = ok(cli("bench", "verify", "--events", 600, "--samples", 10))
    text = " ".join(done.stdout.split())
    assert "verify 600 events (hashes, chains, tree vs checkpoints):" in text
    assert "raw read + hashlib.sha256 of the same rows" in text and "ratio" in text
    assert "export:" in text and "offline verify of the bundle:" in text
    assert "inclusion proof over 600 leaves: p50" in text
