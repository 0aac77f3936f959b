"""What ``up --demo`` prints about reading is true on every host: on loopback, anonymous reads
are on and the printed curl answers without a key; on a host other machines can reach
(0.0.0.0), anonymous reads are off, a reader key is printed and the printed curl uses it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import SCENARIO_ID, Runner, Served, bearer_client, ok, serving

KEY = re.compile(r"tsk_[0-9a-f]{8}_[A-Za-z0-9_-]+")


def _field(banner: str, label: str) -> str:
    (line,) = [line for line in banner.splitlines() if line.strip().startswith(f"{label}:")]
    return line.split(":", 1)[1].strip()


def _run_printed(command: str) -> subprocess.CompletedProcess[str]:
    """Runs a printed command line as a user pastes it into a shell."""
    argv = shlex.split(command)
    assert argv[0] == "curl", command
    return subprocess.run(
        [*argv, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _answer(command: str) -> tuple[int, dict[str, object]]:
    done = _run_printed(command)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), dict(json.loads(body))


@dataclass(frozen=True)
class Demo:
    host: str
    up: Served
    cli: Runner


@pytest.fixture(
    params=[("127.0.0.1", "0"), ("0.0.0.0", "0"), ("0.0.0.0", "1")],
    ids=["loopback", "all-interfaces", "all-interfaces-anonymous-reads-asked"],
)
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Demo]:
    host, anonymous = request.param
    cli = Runner(tmp_path)
    env = cli.environment({"TALKSTREAM_ANONYMOUS_READS": anonymous})
    with serving(tmp_path, env, "--demo", "--host", host) as up:
        yield Demo(host, up, cli)


def test_the_printed_curl_reads_the_scenario_and_anonymous_reads_are_as_printed(
    demo: Demo,
) -> None:
    host, up, cli = demo.host, demo.up, demo.cli
    banner = up.stdout()
    anonymous = _field(banner, "anonymous reads")
    curl = _field(banner, "state")
    status, body = _answer(curl)
    assert status == 200, body
    assert body["view"]["status"] == "implementation"  # type: ignore[index]
    keyless = httpx.get(f"{up.url}/v1/negotiations/{SCENARIO_ID}", timeout=10)
    page = _field(banner, "page")
    assert page == f"http://127.0.0.1:{up.port}/n/{SCENARIO_ID}"
    keyless_page = httpx.get(page, timeout=10)
    keys = {k["name"]: k["role"] for k in json.loads(ok(cli("keys", "list", "--json")).stdout)}
    if host == "127.0.0.1":
        assert anonymous.startswith("on"), banner
        assert "Authorization" not in curl
        assert keyless.status_code == 200
        assert keyless_page.status_code == 200 and "U.S.–Iraq" in keyless_page.text
        assert keys == {"demo-publisher": "publisher"}
    else:
        assert anonymous.startswith("off") and "0.0.0.0 is not a loopback" in anonymous, banner
        assert keyless.status_code == 401
        assert keyless_page.status_code == 401 and 'name="key"' in keyless_page.text
        reader = _field(banner, "reader key (shown once)")
        assert KEY.fullmatch(reader) and f"Bearer {reader}" in curl
        assert keys == {"demo-publisher": "publisher", "demo-reader": "reader"}
    assert f"127.0.0.1:{up.port}" in curl


def test_the_printed_publisher_key_writes(demo: Demo) -> None:
    up = demo.up
    key = _field(up.stdout(), "publisher key (shown once)")
    event = {
        "type": "ContextNoted",
        "occurred_at": "2024-10",
        "verification": "reported",
        "sources": [{"outlet": "Reuters", "kind": "wire"}],
        "payload": {"topic": "Troops", "text": "About 2,500 U.S. troops remain."},
    }
    with bearer_client(up.url, key) as http:
        answer = http.post(f"/v1/negotiations/{SCENARIO_ID}/events", json=event)
    assert answer.status_code == 201, answer.text
