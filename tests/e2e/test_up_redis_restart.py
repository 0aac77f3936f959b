"""``talkstream up`` on the embedded Redis while the redis-server is killed (SIGKILL) under a
load of HTTP writes: ``up`` starts it again on the same port and data dir, reads serve again,
every acknowledged write reaches the views, a CLI command run meanwhile starts no second
server, and the outage costs a few log lines, not a traceback per attempt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.helpers import TALKSTREAM, Runner, Served, bearer_client, ok, serving
from tests.factories import NOTE, body, opening_body
from tests.integration.runtime.helpers import kill_servers, pid_alive, servers_under

NID = "talks-a"
OUTAGE_WORDS = ("redis", "unavailable", "is back", "restart")
MAX_OUTAGE_LINES = 30


@dataclass
class Load:
    """A thread posting notes one after another; keeps what was acknowledged (201)."""

    client: httpx.Client
    acknowledged: dict[str, int] = field(default_factory=dict)  # event_id -> position
    refused: list[int] = field(default_factory=list)  # statuses other than 201
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        k = 0
        while not self.stop.is_set():
            k += 1
            note = body("ContextNoted", {**NOTE, "text": f"note {k}"})
            try:
                answer = self.client.post(f"/v1/negotiations/{NID}/events", json=note)
            except httpx.TransportError:
                self.refused.append(0)
                continue
            if answer.status_code == 201:
                self.acknowledged[answer.json()["event_id"]] = answer.json()["position"]
            else:
                self.refused.append(answer.status_code)

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} writes answered"
            time.sleep(0.05)


@pytest.fixture
def up(tmp_path: Path, cli: Runner) -> Iterator[Served]:
    env = cli.environment({"TALKSTREAM_API_RATE_PER_SECOND": "100000"})
    try:
        with serving(tmp_path, env) as served:
            yield served
    finally:
        kill_servers(cli.home)


def _record(home: Path) -> dict[str, Any]:
    return dict(json.loads((home / "redis" / "server.json").read_text()))


def _restarted(home: Path, killed: int, timeout: float = 60.0) -> dict[str, Any]:
    """server.json once it names a live server other than the killed one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            record = _record(home)
        except (OSError, ValueError):
            record = {}
        pid = record.get("pid")
        if isinstance(pid, int) and pid != killed and pid_alive(pid):
            return record
        time.sleep(0.05)
    raise AssertionError(f"no redis-server replaced pid {killed} within {timeout} s")


def _timeline(client: httpx.Client, position: int, timeout: float = 60.0) -> dict[str, Any]:
    """The timeline once the views have applied ``position`` (503s while they catch up)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/v1/negotiations/{NID}/timeline", params={"min_position": position})
        if answer.status_code == 200:
            return dict(answer.json())
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, f"reads still answer {answer.text}"
        time.sleep(0.2)


@contextmanager
def _frozen(process: subprocess.Popen[str]) -> Iterator[None]:
    """``up`` stopped (SIGSTOP): alive, but it cannot restart Redis until resumed."""
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


@pytest.mark.slow
def test_up_restarts_a_killed_redis_and_keeps_every_acknowledged_write(
    up: Served, cli: Runner
) -> None:
    publisher = ok(cli("keys", "create", "--role", "publisher", "--name", "load")).stdout
    reader = ok(cli("keys", "create", "--role", "reader", "--name", "check")).stdout
    writes = bearer_client(up.url, publisher, timeout=60)
    reads = bearer_client(up.url, reader, timeout=60)
    with writes, reads:
        opened = writes.post("/v1/negotiations", json=opening_body())
        assert opened.status_code == 201, opened.text
        first = _record(cli.home)
        data_dir = redis.Redis(port=first["port"]).config_get("dir")["dir"]
        load = Load(writes)
        loader = threading.Thread(target=load.run, daemon=True)
        loader.start()

        # killed under load: up starts it again on the same port and data dir
        load.wait_for(100)
        os.kill(first["pid"], signal.SIGKILL)
        second = _restarted(cli.home, first["pid"])
        assert second["port"] == first["port"]
        assert redis.Redis(port=second["port"]).config_get("dir")["dir"] == data_dir
        load.wait_for(len(load.acknowledged) + 100)

        # killed while up cannot restart it: a CLI command waits instead of starting its own
        with _frozen(up.process):
            os.kill(second["pid"], signal.SIGKILL)
            view = subprocess.Popen(
                [str(TALKSTREAM), "view", "timeline", NID],
                cwd=cli.base,
                env=cli.environment(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            time.sleep(2)  # the command runs meanwhile
            assert view.poll() is None, view.communicate()
            assert servers_under(cli.home) == set(), "the CLI command started a redis-server"
        third = _restarted(cli.home, second["pid"])
        out, err = view.communicate(timeout=60)
        assert view.returncode == 0, err
        assert json.loads(out)["projection"] == "timeline"
        assert "waiting" in err.decode(), err
        load.wait_for(len(load.acknowledged) + 100)
        load.stop.set()
        loader.join(60)

        assert third["port"] == first["port"]
        assert _record(cli.home)["pid"] == third["pid"], "server.json was rewritten"
        assert servers_under(cli.home) == {third["pid"]}, "a second redis-server runs"
        timeline = _timeline(reads, max(load.acknowledged.values()))
        seen = {row["event_id"] for row in timeline["view"]}
        lost = set(load.acknowledged) - seen
        assert not lost, f"{len(lost)} of {len(load.acknowledged)} acknowledged writes are lost"

    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(60) == 0
    log = up.stderr()
    assert "Traceback" not in log, log[-3000:]
    outage = [line for line in log.splitlines() if any(w in line.lower() for w in OUTAGE_WORDS)]
    assert len(outage) < MAX_OUTAGE_LINES, "\n".join(outage[:40])
