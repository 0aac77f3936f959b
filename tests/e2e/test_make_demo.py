"""``make demo`` as a newcomer runs it: ``TALKSTREAM_PORT=N make demo`` serves on port N and
says how to reach the CLI; on a taken port it says to choose another that way (not with
``--port``, which make does not pass on), and the README says so too."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.helpers import SCENARIO_ID, TALKSTREAM, Runner, free_port

REPO = Path(__file__).resolve().parents[2]


def _make_demo(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """``make demo`` with this test's home and port, using the venv that runs the tests (and
    never rebuilding it: ``-o`` treats the stamp as up to date). Its own process group, so a
    test can press Ctrl-C as a terminal does (to make and talkstream both)."""
    command = ["make", "--no-print-directory", "-C", str(REPO), "-o", ".venv/.installed"]
    return subprocess.Popen(
        [*command, "demo", f"BIN={TALKSTREAM.parent}"],
        stdout=(tmp_path / "stdout").open("w"),
        stderr=(tmp_path / "stderr").open("w"),
        text=True,
        env=Runner(tmp_path).environment({"TALKSTREAM_PORT": str(port)}),
        start_new_session=True,
    )


def _ctrl_c(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=60)


def _wait_for_state(make: subprocess.Popen[str], port: int, logs: Path) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:
        assert make.poll() is None, (logs / "stderr").read_text()
        assert time.monotonic() < deadline, "make demo did not serve within 120 s"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/v1/negotiations/{SCENARIO_ID}", timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)


def test_make_demo_on_a_taken_port_names_the_make_way_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        make = _make_demo(tmp_path, port)
        try:
            assert make.wait(timeout=120) != 0
        finally:
            _ctrl_c(make)
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert "address_in_use" in errors[0] and f"127.0.0.1:{port}" in errors[0]
    assert "TALKSTREAM_PORT=N make demo" in errors[0]
    assert not (tmp_path / "home" / "redis").exists()


def test_make_demo_serves_on_the_chosen_port_and_says_how_to_use_the_cli(tmp_path: Path) -> None:
    port = free_port()
    make = _make_demo(tmp_path, port)
    try:
        state = _wait_for_state(make, port, tmp_path)
        assert state.status_code == 200, state.text
    finally:
        _ctrl_c(make)  # make itself then reports "Interrupt", as on any Ctrl-C
    assert "stopped cleanly" in (tmp_path / "stderr").read_text()
    out = (tmp_path / "stdout").read_text()
    assert f"talkstream is serving http://127.0.0.1:{port}" in out
    assert "`. .venv/bin/activate`" in out


def test_the_readme_says_how_to_run_make_demo_on_another_port() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(r"TALKSTREAM_PORT=\d+ make demo", readme)
