"""``talkstream up`` as a real process on a free port, on the embedded Redis: the scenario is
recorded over HTTP and read back (state, timeline, diff); ``up --demo`` loads the scenario,
prints a publisher key and serves anonymous reads on loopback."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from services.recorder.jsonl import scenario_lines
from tests.e2e.helpers import SCENARIO_ID, TALKSTREAM, Runner, free_port, ok, one_error_line

KEY = re.compile(r"tsk_[0-9a-f]{8}_[A-Za-z0-9_-]+")


@contextmanager
def redis_client(port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=port)
    try:
        yield client
    finally:
        client.close()


@dataclass
class Up:
    process: subprocess.Popen[str]
    url: str
    cli: Runner

    def stop(self) -> tuple[str, str]:
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        return out, err


def _start(tmp_path: Path, *args: str, command: str = "up") -> Up:
    cli = Runner(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [str(TALKSTREAM), command, "--port", str(port), *args],
        cwd=tmp_path,
        env=cli.environment(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "talkstream up did not answer /healthz in 60 s"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Up(process, url, cli)
        except httpx.TransportError:
            time.sleep(0.1)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = _start(tmp_path)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def test_the_scenario_recorded_over_http_reads_back_as_state_timeline_and_diff(up: Up) -> None:
    publisher = ok(up.cli("keys", "create", "--role", "publisher", "--name", "e2e-pub")).stdout
    reader = ok(up.cli("keys", "create", "--role", "reader", "--name", "e2e-read")).stdout
    events = [json.loads(line) for line in scenario_lines()]
    with httpx.Client(
        base_url=up.url, headers={"Authorization": f"Bearer {publisher.strip()}"}, timeout=30
    ) as client:
        opened = client.post("/v1/negotiations", json=events[0])
        assert opened.status_code == 201, opened.text
        for event in events[1:]:
            written = client.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
            assert written.status_code == 201, written.text
    last = written.json()["position"]
    assert last == len(events)
    with httpx.Client(
        base_url=up.url, headers={"Authorization": f"Bearer {reader.strip()}"}, timeout=30
    ) as client:
        state = client.get(f"/v1/negotiations/{SCENARIO_ID}", params={"min_position": last})
        timeline = client.get(f"/v1/negotiations/{SCENARIO_ID}/timeline")
        diff = client.get(
            f"/v1/negotiations/{SCENARIO_ID}/diff",
            params={"from": "2024-08-01", "to": "2024-10-01"},
        )
    assert state.status_code == 200, state.text
    assert state.json()["source"] == "live"
    assert state.json()["view"]["status"] == "agreement_reached"
    assert state.json()["view"]["version"] == len(events)
    assert len(timeline.json()["view"]) == len(events)
    sections = {c["section"] for c in diff.json()["changes"]}
    assert {"agreements", "milestones"} <= sections
    _, err = up.stop()
    assert "stopped cleanly" in err
    audit = ok(up.cli("audit", "verify")).stdout
    assert f"{len(events)} events verified" in audit


def test_up_demo_loads_the_scenario_prints_a_key_and_serves_anonymous_reads(
    tmp_path: Path,
) -> None:
    demo = _start(tmp_path, "--demo")
    try:
        state = httpx.get(f"{demo.url}/v1/negotiations/{SCENARIO_ID}", timeout=10)
        assert state.status_code == 200, state.text
        assert state.json()["view"]["status"] == "agreement_reached"
        out, _ = demo.stop()
    finally:
        if demo.process.poll() is None:
            demo.process.kill()
    assert "audit ok" in out
    assert f"http://127.0.0.1:{demo.url.rsplit(':', 1)[1]}" in out
    (key,) = KEY.findall(out)
    keys = json.loads(ok(demo.cli("keys", "list", "--json")).stdout)
    assert [(k["name"], k["role"], k["revoked_at"]) for k in keys] == [
        ("demo-publisher", "publisher", None)
    ]
    assert key not in (demo.cli.home / "keys.json").read_text()


def test_sigterm_stops_everything_cleanly(up: Up) -> None:
    server = json.loads((up.cli.home / "redis" / "server.json").read_text())
    up.process.send_signal(signal.SIGTERM)
    _, err = up.process.communicate(timeout=60)
    assert up.process.returncode == 0, err
    assert "stopped cleanly" in err
    assert not (up.cli.home / "redis" / "server.json").exists()
    assert (
        not Path(f"/proc/{server['pid']}").exists()
        or "Z" in Path(f"/proc/{server['pid']}/stat").read_text().split(") ", 1)[1][:1]
    )


def test_api_alone_records_but_leaves_relaying_to_the_relay(tmp_path: Path) -> None:
    api = _start(tmp_path, command="api")
    try:
        key = ok(api.cli("keys", "create", "--role", "publisher", "--name", "p")).stdout.strip()
        first = json.loads(scenario_lines()[0])
        answer = httpx.post(
            f"{api.url}/v1/negotiations",
            json=first,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        server = json.loads((api.cli.home / "redis" / "server.json").read_text())
        with redis_client(server["port"]) as client:
            assert client.xlen("talkstream:events") == 0
        _, err = api.stop()
    finally:
        if api.process.poll() is None:
            api.process.kill()
    assert "workers started" not in err


def test_a_taken_port_is_one_error_line_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = Runner(tmp_path)("up", "--port", port)
    line = one_error_line(result)
    assert "address_in_use" in line and str(port) in line and "--port" in line
    assert not (tmp_path / "home" / "redis").exists()
