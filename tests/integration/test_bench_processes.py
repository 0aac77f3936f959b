"""The processes a bench starts beside itself never outlive it: a server that ignores SIGTERM
is killed after its grace, what a bench's process leaves running is stopped when it ends (it
would hold ``bench all``'s output open, and a caller reading that output would wait forever),
and a bench that fails while a server runs says what the server last logged."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.bench.process import running
from services.bench.suite import _stop_group

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(300)"
)


def _wait_ready(log: Path) -> None:
    deadline = time.monotonic() + 30
    while "ready" not in log.read_text():
        assert time.monotonic() < deadline, "the process never started"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def test_a_process_that_ignores_sigterm_is_killed_after_its_grace(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    with running([sys.executable, "-c", IGNORES_SIGTERM], log, grace=0.5) as process:
        _wait_ready(log)
    assert process.returncode == -signal.SIGKILL


def test_an_error_in_the_block_carries_the_last_lines_the_process_logged(
    tmp_path: Path,
) -> None:
    script = "import time; [print(f'line {n}', flush=True) for n in range(9)]; time.sleep(300)"
    log = tmp_path / "server.log"
    with pytest.raises(RuntimeError) as raised, running([sys.executable, "-c", script], log):
        deadline = time.monotonic() + 30
        while "line 8" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        raise RuntimeError("the bench failed")
    notes = "\n".join(raised.value.__notes__)
    assert "server.log" in notes and "line 8" in notes and "line 4" in notes
    assert "line 3" not in notes  # the last five lines only


def _leave_a_server_behind(pid_file: str) -> None:
    """A bench's process as ``run_one`` starts it (a process group of its own) that starts a
    server ignoring SIGTERM and ends without stopping it."""
    os.setpgid(0, 0)
    server = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stdout.readline() == b"ready\n"
    Path(pid_file).write_text(str(server.pid))


def test_what_a_bench_leaves_running_is_stopped_when_its_process_ends(tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    child = multiprocessing.get_context("spawn").Process(
        target=_leave_a_server_behind, args=(str(pid_file),)
    )
    child.start()
    child.join(60)
    server = int(pid_file.read_text())
    assert _alive(server)  # the bench's process ended; its server did not
    _stop_group("leaky", child, grace=0.5)
    deadline = time.monotonic() + 10
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server)
