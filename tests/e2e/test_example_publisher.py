"""The documented publishing service works against a running intake, and is idempotent."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import TALKSTREAM, Runner

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "publish_service.py"


@pytest.fixture
def intake(tmp_path: Path, redis_url: str, prefix: str) -> Iterator[dict[str, str]]:
    env = Runner(tmp_path).environment(
        {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    )
    process = subprocess.Popen(
        [str(TALKSTREAM), "intake"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield env
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_example_publisher_records_twice_idempotently(intake: dict[str, str]) -> None:
    def run() -> str:
        done = subprocess.run(
            [sys.executable, str(EXAMPLE)],
            env=intake,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first, second = run(), run()
    assert first.splitlines() == [
        "NegotiationOpened: position 1, version 1",
        "MeetingHeld: position 2, version 2",
    ]
    assert second.splitlines() == [line + " (already recorded)" for line in first.splitlines()]
