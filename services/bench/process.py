"""The processes a bench starts beside itself (``talkstream up``, ``intake``, ``relay``, a bare
route): each writes to a log file of its own, never to the bench's output, and is stopped
when its block ends, by SIGTERM and, past a grace period, SIGKILL. A bench that fails while
one runs says what that process last logged."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

STOP_GRACE = 30.0  # seconds a process has to stop after SIGTERM before it is killed
TAIL_LINES = 5


def talkstream_command(*args: str) -> list[str]:
    """``talkstream <args>`` as this interpreter's environment installed it."""
    return [str(Path(sys.executable).parent / "talkstream"), *args]


@contextmanager
def running(
    command: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    *,
    grace: float = STOP_GRACE,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running for the block, its output in ``log``; stopped at the block's end
    whatever happened in it. An error raised in the block carries the log's last lines."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        yield process
    except Exception as e:
        e.add_note(f"{log.name}, last lines:\n{tail(log)}")
        raise
    finally:
        stop(process, grace)


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not ended within ``grace`` seconds; returns once
    it has ended."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    text = log.read_text("utf-8", "replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(nothing)"
