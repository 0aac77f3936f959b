"""``talkstream`` subprocesses started by a test: their environment, the process with its output
in a log file, and stopping a process (a signal, then a kill if it does not stop in time)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from services.settings import Settings

REPO = Path(__file__).resolve().parents[1]
TALKSTREAM = Path(sys.executable).parent / "talkstream"


def talkstream_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """This process's environment without TALKSTREAM_*, then the settings' home, Redis and
    prefix, then ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALKSTREAM_")}
    return env | {
        "TALKSTREAM_HOME": str(settings.home),
        "TALKSTREAM_REDIS_URL": str(settings.redis_url),
        "TALKSTREAM_PREFIX": settings.prefix,
        **overrides,
    }


def stop_process(
    process: subprocess.Popen[Any], sig: signal.Signals = signal.SIGINT, timeout: float = 60.0
) -> int | None:
    """Sends ``sig`` (unless it has ended) and waits: its exit code, or None when it did not
    stop within ``timeout`` and was killed."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None


class TalkstreamProcess:
    """``talkstream <command> [args]`` as a separate process, its output appended to a log
    file."""

    def __init__(
        self, command: str, env: dict[str, str], log: Path, args: Sequence[str] = ()
    ) -> None:
        self.command = command
        self.log = log
        self.offset = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(TALKSTREAM), command, *args],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """What this process wrote to the log (not what earlier ones wrote before it)."""
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()

    def terminate(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then the exit code; None (and killed) if it did not stop in time."""
        return stop_process(self.proc, signal.SIGTERM, timeout)
