"""``talkstream up`` as a real process on a free port, on the embedded Redis: the scenario is
recorded over HTTP and read back (state, timeline, diff); ``up --demo`` loads the scenario,
prints a publisher key and serves anonymous reads on loopback."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from services.recorder.jsonl import scenario_lines
from tests.e2e.helpers import (
    SCENARIO_ID,
    Runner,
    Served,
    bearer_client,
    ok,
    one_error_line,
    serving,
)

KEY = re.compile(r"tsk_[0-9a-f]{8}_[A-Za-z0-9_-]+")


@contextmanager
def redis_client(port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=port)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def up(tmp_path: Path, cli: Runner) -> Iterator[Served]:
    with serving(tmp_path, cli.environment()) as served:
        yield served


def test_the_scenario_recorded_over_http_reads_back_as_state_timeline_and_diff(
    up: Served, cli: Runner
) -> None:
    publisher = ok(cli("keys", "create", "--role", "publisher", "--name", "e2e-pub")).stdout
    reader = ok(cli("keys", "create", "--role", "reader", "--name", "e2e-read")).stdout
    events = [json.loads(line) for line in scenario_lines()]
    with bearer_client(up.url, publisher) as client:
        opened = client.post("/v1/negotiations", json=events[0])
        assert opened.status_code == 201, opened.text
        for event in events[1:]:
            written = client.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
            assert written.status_code == 201, written.text
    last = written.json()["position"]
    assert last == len(events)
    with bearer_client(up.url, reader) as client:
        state = client.get(f"/v1/negotiations/{SCENARIO_ID}", params={"min_position": last})
        timeline = client.get(f"/v1/negotiations/{SCENARIO_ID}/timeline")
        diff = client.get(
            f"/v1/negotiations/{SCENARIO_ID}/diff",
            params={"from": "2024-08-01", "to": "2024-10-01"},
        )
    assert state.status_code == 200, state.text
    assert state.json()["source"] == "live"
    assert state.json()["view"]["status"] == "implementation"
    assert state.json()["view"]["version"] == len(events)
    assert len(timeline.json()["view"]) == len(events)
    sections = {c["section"] for c in diff.json()["changes"]}
    assert {"agreements", "milestones"} <= sections
    up.stop()
    assert "stopped cleanly" in up.stderr()
    audit = ok(cli("audit", "verify")).stdout
    assert f"{len(events)} events verified" in audit


def test_up_demo_loads_the_scenario_prints_a_key_and_serves_anonymous_reads(
    tmp_path: Path, cli: Runner
) -> None:
    with serving(tmp_path, cli.environment(), "--demo") as demo:
        state = httpx.get(f"{demo.url}/v1/negotiations/{SCENARIO_ID}", timeout=10)
        assert state.status_code == 200, state.text
        assert state.json()["view"]["status"] == "implementation"
        demo.stop()
    out = demo.stdout()
    assert "audit ok" in out
    assert f"http://127.0.0.1:{demo.port}" in out
    (key,) = KEY.findall(out)
    keys = json.loads(ok(cli("keys", "list", "--json")).stdout)
    assert [(k["name"], k["role"], k["revoked_at"]) for k in keys] == [
        ("demo-publisher", "publisher", None)
    ]
    assert key not in (cli.home / "keys.json").read_text()


def test_sigterm_stops_everything_cleanly(up: Served, cli: Runner) -> None:
    server = json.loads((cli.home / "redis" / "server.json").read_text())
    up.process.send_signal(signal.SIGTERM)
    assert up.process.wait(timeout=60) == 0, up.stderr()
    assert "stopped cleanly" in up.stderr()
    assert not (cli.home / "redis" / "server.json").exists()
    assert (
        not Path(f"/proc/{server['pid']}").exists()
        or "Z" in Path(f"/proc/{server['pid']}/stat").read_text().split(") ", 1)[1][:1]
    )


def test_api_alone_records_but_leaves_relaying_to_the_relay(tmp_path: Path, cli: Runner) -> None:
    with serving(tmp_path, cli.environment(), command="api") as api:
        key = ok(cli("keys", "create", "--role", "publisher", "--name", "p")).stdout
        with bearer_client(api.url, key) as http:
            answer = http.post("/v1/negotiations", json=json.loads(scenario_lines()[0]))
        assert answer.status_code == 201, answer.text
        server = json.loads((cli.home / "redis" / "server.json").read_text())
        with redis_client(server["port"]) as client:
            assert client.xlen("talkstream:events") == 0
        api.stop()
    assert "workers started" not in api.stderr()


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
