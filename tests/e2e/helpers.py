"""The runner of the real console script, and assertions and file builders shared by the
e2e modules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.ports import free_port
from tests.processes import stop_process

SCENARIO_ID = "us-iraq-jscd"
TALKSTREAM = Path(sys.executable).parent / "talkstream"
TIMEOUT = 120


class Runner:
    """Runs ``talkstream ARGS`` against one store; ``env`` adds or overrides variables."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TALKSTREAM_") and k not in ("FORCE_COLOR", "COLUMNS", "LINES")
        }
        env.update(TALKSTREAM_HOME=str(self.home), COLUMNS="200", PYTHONIOENCODING="utf-8")
        env.update(extra or {})
        return env

    def __call__(
        self,
        *args: object,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TALKSTREAM), *(str(a) for a in args)],
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            cwd=self.base,
            env=self.environment(env),
            check=False,
        )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result).stdout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Asserts a clean failure: non-zero exit, nothing on stdout, one ``error:`` line on
    stderr (no traceback); returns that line."""
    assert result.returncode != 0, f"expected a failure, got exit 0\nstdout:\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == "", result.stdout
    return lines[0]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Writes JSON Lines: dicts are dumped, strings are written as they are."""
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def the_error(result: subprocess.CompletedProcess[str]) -> str:
    """Asserts a clean failure that may follow progress lines (as ``import`` prints): non-zero
    exit, no traceback, exactly one ``error:`` line on stderr; returns it."""
    assert result.returncode != 0, f"expected a failure, got exit 0\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, f"expected one error line:\n{result.stderr}"
    return errors[0]


@dataclass
class Served:
    """A ``talkstream up`` (or ``api``) process; its output goes to files, readable while it
    runs."""

    process: subprocess.Popen[str]
    port: int
    logs: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return (self.logs / "stdout").read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return (self.logs / "stderr").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Ctrl-C, and a clean exit within a minute."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        assert self.process.returncode == 0, self.stderr()


@contextmanager
def serving(cwd: Path, env: Mapping[str, str], *args: str, command: str = "up") -> Iterator[Served]:
    """``talkstream COMMAND --port <free port> ARGS`` until /healthz answers; killed at the end
    if it is still running (with its embedded Redis, which would otherwise outlive it)."""
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="served-", dir=cwd))
    with (logs / "stdout").open("w") as out, (logs / "stderr").open("w") as err:
        process = subprocess.Popen(
            [str(TALKSTREAM), command, "--port", str(port), *args],
            cwd=cwd,
            env=dict(env),
            text=True,
            stdout=out,
            stderr=err,
        )
    served = Served(process, port, logs)
    try:
        _wait_healthy(served)
        yield served
    finally:
        stop_process(process)


def bearer_client(url: str, key: str, timeout: float = 30) -> httpx.Client:
    """An HTTP client on ``url`` that sends ``key`` (as ``keys create`` printed it)."""
    headers = {"Authorization": f"Bearer {key.strip()}"}
    return httpx.Client(base_url=url, headers=headers, timeout=timeout)


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert served.process.poll() is None, served.stderr()
        assert time.monotonic() < deadline, f"no answer on /healthz in 60 s\n{served.stderr()}"
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
