"""Helpers for the embedded-Redis tests: a separate talkstream-like process, server state on
disk, and killing whatever a failed test left running."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

# A talkstream process in miniature: joins the home's Redis, prints the URL, and leaves when a
# line arrives on stdin (or stays until killed).
USER_SCRIPT = """
import sys
from pathlib import Path
from services.runtime.redis_server import redis_for
from services.settings import Settings

with redis_for(Settings(home=Path(sys.argv[1]), redis_url=None)) as url:
    print(url, flush=True)
    sys.stdin.readline()
print("left", flush=True)
"""


def pid_alive(pid: int) -> bool:
    """Exists and is not a zombie (an exited server nobody reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def server_record(home: Path) -> dict[str, object] | None:
    path = home / "redis" / "server.json"
    return json.loads(path.read_text()) if path.exists() else None


def users(home: Path) -> set[int]:
    folder = home / "redis" / "users"
    return {int(p.name) for p in folder.iterdir()} if folder.exists() else set()


class UserProcess:
    """A separate Python process using ``redis_for`` on a home."""

    def __init__(self, home: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", USER_SCRIPT, str(home)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.pid = self.proc.pid

    def read_line(self, timeout: float = 20.0) -> str:
        """One line of stdout, without hanging the test if the process never prints it."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                pytest.fail(f"process {self.pid} printed nothing in {timeout} s")
            chunk = os.read(fd, 1)
            if not chunk:
                pytest.fail(f"process {self.pid} exited: {self.stderr()}")
            data += chunk
        return data.decode().strip()

    def leave(self, timeout: float = 20.0) -> None:
        """Asks the process to leave its ``redis_for`` and waits for it to exit cleanly."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()
        assert self.read_line(timeout) == "left"
        assert self.proc.wait(timeout) == 0, self.stderr()

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def servers_under(home: Path) -> set[int]:
    """Pids of the live redis-server processes working in a talkstream home."""
    return {pid for pid in _servers_under(home.resolve()) if pid_alive(pid)}


def _servers_under(root: Path) -> set[int]:
    """Pids of redis-server processes whose working dir (their --dir) is under root."""
    pids: set[int] = set()
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "redis-server":
                continue
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            pids.add(int(entry.name))
    return pids


def kill_servers(home: Path) -> None:
    pids = _servers_under(home.resolve())
    record = server_record(home) if home.exists() else None
    if record is not None and isinstance(record["pid"], int):
        pids.add(record["pid"])
    for pid in pids:
        if pid > 1 and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            wait_gone(pid, 5)
