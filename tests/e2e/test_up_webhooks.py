"""Signed webhooks end to end: ``talkstream up`` delivers to a receiver process that fails,
stalls past the timeout, goes away and comes back, and every change of the hooked negotiation
and view still arrives, in order, verifiable with the secret (Standard Webhooks); a change the
receiver refuses for the whole retry period is parked, listed by ``hooks dlq`` and delivered
by ``hooks retry``; ``talkstream deliver`` delivers as its own process; the admin API
registers, lists and removes hooks; private targets are refused unless allowed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.e2e.helpers import Runner, Served, bearer_client, ok, one_error_line, serving
from tests.factories import NOTE, SOURCE, opening_body
from tests.ports import free_port
from tests.processes import stop_process

RECEIVER = Path(__file__).resolve().parents[1] / "hook_receiver.py"
FAST = {
    "TALKSTREAM_HOOKS_ALLOW_PRIVATE": "1",
    "TALKSTREAM_HOOKS_TIMEOUT": "1",
    "TALKSTREAM_HOOKS_BACKOFF_INITIAL": "0.2",
    "TALKSTREAM_HOOKS_BACKOFF_MAX": "1",
    "TALKSTREAM_HOOKS_POLL_INTERVAL": "0.1",
}
NOTE_EVENT = {
    "type": "ContextNoted",
    "occurred_at": "2024-10",
    "sources": [SOURCE],
    "verification": "reported",
    "payload": NOTE,
}


class Receiver:
    def __init__(self, directory: Path, port: int) -> None:
        self.dir, self.port = directory, port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self, plan: str = "") -> None:
        (self.dir / "ready").unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(RECEIVER),
                str(self.port),
                str(self.dir),
                "--plan",
                plan,
                "--stall",
                "3",
            ],
        )
        _until((self.dir / "ready").exists, "the receiver to listen")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def mode(self, mode: str) -> None:
        (self.dir / "mode").write_text(mode)

    def lines(self, name: str) -> list[dict[str, Any]]:
        path = self.dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


@contextmanager
def receiver(tmp_path: Path, plan: str = "") -> Iterator[Receiver]:
    directory = tmp_path / f"receiver-{time.monotonic_ns()}"
    directory.mkdir()
    r = Receiver(directory, free_port())
    r.start(plan)
    try:
        yield r
    finally:
        r.stop()


def _until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _added(cli: Runner, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    hook = json.loads(ok(cli("hooks", "add", *args, env=env)).stdout)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{32}", hook["secret"])
    return dict(hook)


def _write(up: Served, key: str, nid: str, notes: int, *, open_it: bool) -> int:
    position = 0
    with bearer_client(up.url, key) as client:
        if open_it:
            opened = client.post("/v1/negotiations", json={**opening_body(), "negotiation_id": nid})
            assert opened.status_code == 201, opened.text
            position = opened.json()["position"]
        for i in range(notes):
            event = {**NOTE_EVENT, "payload": {**NOTE, "text": f"note {i}"}}
            written = client.post(f"/v1/negotiations/{nid}/events", json=event)
            assert written.status_code == 201, written.text
            position = written.json()["position"]
    return int(position)


def _changes(cli: Runner, nid: str, view: str) -> list[str]:
    """The change entry IDs of ``nid``'s ``view`` in Redis: what the hook must deliver."""
    client = redis.Redis.from_url(ok(cli("redis-url")).stdout.strip())
    try:
        entries = client.xrange("talkstream:changes")
    finally:
        client.close()
    return [
        eid.decode()
        for eid, f in entries
        if f[b"negotiation_id"].decode() == nid and f[b"projection"].decode() == view
    ]


def _verified(r: Receiver, secret: str) -> list[dict[str, Any]]:
    """The received CloudEvents, each checked against its Standard Webhooks signature."""
    out = []
    for record in r.lines("received.jsonl"):
        event = Webhook(secret).verify(record["body"], record["headers"])
        assert record["headers"]["webhook-id"] == event["id"]
        out.append(event)
    return out


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(tmp_path_factory.mktemp("webhooks"))


@pytest.fixture(scope="module")
def up(cli: Runner) -> Iterator[Served]:
    with serving(cli.base, cli.environment(FAST)) as served:
        yield served


@pytest.fixture(scope="module")
def publisher(cli: Runner, up: Served) -> str:
    return ok(cli("keys", "create", "--role", "publisher", "--name", "hooks-pub")).stdout


def test_every_change_arrives_in_order_through_failures_stalls_and_an_outage(
    cli: Runner, up: Served, publisher: str, tmp_path: Path
) -> None:
    nid = "hooked-talks"
    with receiver(tmp_path, plan="fail,fail,stall") as r:
        hook = _added(cli, r.url, "--negotiation", nid, "--view", "negotiation", env=FAST)
        last = _write(up, publisher, nid, 4, open_it=True)
        _until(
            lambda: any(e["data"]["position"] >= last for e in _verified(r, hook["secret"])),
            "the last change to arrive",
        )
        r.stop()  # the receiver goes away: connections are refused
        last = _write(up, publisher, nid, 3, open_it=False)
        time.sleep(1.5)  # attempts meanwhile are refused connections
        r.start()  # and comes back
        _until(
            lambda: any(e["data"]["position"] >= last for e in _verified(r, hook["secret"])),
            "the changes after the outage",
        )
        received = _verified(r, hook["secret"])
        modes = [a["mode"] for a in r.lines("attempts.jsonl")]
    assert modes[:3] == ["fail", "fail", "stall"]
    first_seen: dict[str, int] = {}
    for event in received:
        first_seen.setdefault(event["id"], event["data"]["position"])
    assert list(first_seen) == _changes(cli, nid, "negotiation")  # all, in stream order
    positions = list(first_seen.values())
    assert positions == sorted(positions) and positions[-1] == last
    assert {e["type"] for e in received} == {"org.talkstream.ViewChanged"}
    assert {e["subject"] for e in received} == {nid}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook("whsec_" + "A" * 32).verify(
            r.lines("received.jsonl")[0]["body"], r.lines("received.jsonl")[0]["headers"]
        )


def test_a_change_refused_for_the_retry_period_is_parked_then_retried(
    tmp_path: Path,
) -> None:
    cli = Runner(tmp_path / "parking")
    cli.home.mkdir(parents=True)
    env = {**FAST, "TALKSTREAM_HOOKS_RETRY_FOR": "1"}
    with serving(cli.base, cli.environment(env)) as up, receiver(tmp_path) as r:
        r.mode("fail")
        hook = _added(cli, r.url, "--view", "negotiation", env=env)
        key = ok(cli("keys", "create", "--role", "publisher", "--name", "p")).stdout
        last = _write(up, key, "parked-talks", 0, open_it=True)
        _until(lambda: json.loads(ok(cli("hooks", "dlq", env=env)).stdout), "a parked change")
        parked = json.loads(ok(cli("hooks", "dlq", "--hook", hook["id"], env=env)).stdout)
        assert parked[0]["hook_id"] == hook["id"]
        assert parked[0]["change"]["position"] == last
        assert parked[0]["reason"] == "answered 500"
        assert parked[0]["attempts"] >= 2
        assert r.lines("received.jsonl") == []
        r.mode("ok")
        assert "queued 1" in ok(cli("hooks", "retry", env=env)).stderr
        _until(lambda: r.lines("received.jsonl"), "the retried delivery")
        event = _verified(r, hook["secret"])[0]
        assert event["id"] == parked[0]["change_id"]
        assert json.loads(ok(cli("hooks", "dlq", env=env)).stdout) == []


def test_the_deliverer_runs_as_its_own_process(tmp_path: Path) -> None:
    cli = Runner(tmp_path / "split")
    cli.home.mkdir(parents=True)
    with serving(cli.base, cli.environment(FAST), command="api") as api, receiver(tmp_path) as r:
        # `api` serves without workers: run the relay, the projections and the deliverer apart
        env = cli.environment(FAST)
        parts = [
            subprocess.Popen([str(cli_path()), name], cwd=cli.base, env=env)
            for name in ("relay", "project", "deliver")
        ]
        try:
            hook = _added(cli, r.url, "--view", "timeline", env=FAST)
            key = ok(cli("keys", "create", "--role", "publisher", "--name", "p")).stdout
            last = _write(api, key, "split-talks", 2, open_it=True)
            _until(
                lambda: any(e["data"]["position"] >= last for e in _verified(r, hook["secret"])),
                "a delivery from `talkstream deliver`",
            )
        finally:
            for part in parts:
                stop_process(part)
    assert {e["projection"] for e in _verified(r, hook["secret"])} == {"timeline"}


def cli_path() -> Path:
    from tests.e2e.helpers import TALKSTREAM

    return TALKSTREAM


def test_the_admin_api_adds_lists_and_removes_hooks(cli: Runner, up: Served) -> None:
    admin = ok(cli("keys", "create", "--role", "admin", "--name", "hooks-admin")).stdout
    reader = ok(cli("keys", "create", "--role", "reader", "--name", "hooks-reader")).stdout
    with bearer_client(up.url, admin) as client:
        made = client.post("/v1/hooks", json={"url": "http://127.0.0.1:9/x", "view": "timeline"})
        given = client.post(
            "/v1/hooks", json={"url": "http://127.0.0.1:9/y", "secret": "whsec_" + "B" * 32}
        )
        listed = client.get("/v1/hooks")
        bad_view = client.post("/v1/hooks", json={"url": "http://127.0.0.1:9/", "view": "nope"})
        bad_url = client.post("/v1/hooks", json={"url": "ftp://example.org/"})
        bad_secret = client.post("/v1/hooks", json={"url": "http://127.0.0.1:9/", "secret": "x"})
        removed = client.delete(f"/v1/hooks/{made.json()['id']}")
        again = client.delete(f"/v1/hooks/{made.json()['id']}")
        after = client.get("/v1/hooks")
    with bearer_client(up.url, reader) as client:
        forbidden = client.get("/v1/hooks")
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    assert given.json()["secret"] == "whsec_" + "B" * 32
    assert listed.status_code == 200
    assert all("secret" not in h or h["secret"] is None for h in listed.json())
    assert made.json()["id"] in {h["id"] for h in listed.json()}
    assert (bad_view.status_code, bad_url.status_code, bad_secret.status_code) == (422, 422, 422)
    assert bad_url.json()["error"]["code"] == "invalid_url"
    assert bad_secret.json()["error"]["code"] == "invalid_secret"
    assert (removed.status_code, again.status_code) == (204, 404)
    assert made.json()["id"] not in {h["id"] for h in after.json()}
    assert forbidden.status_code == 403
    listing = json.loads(ok(cli("hooks", "list", env=FAST)).stdout)
    assert given.json()["id"] in {h["id"] for h in listing}
    assert all("secret" not in h for h in listing)


def test_private_targets_are_refused_unless_allowed(cli: Runner, up: Served) -> None:
    line = one_error_line(cli("hooks", "add", "http://127.0.0.1:9/hook"))
    assert "private_address" in line and "TALKSTREAM_HOOKS_ALLOW_PRIVATE" in line
    for url in ("http://169.254.169.254/latest", "http://10.0.0.1/", "http://[::1]:9/"):
        assert "private_address" in one_error_line(cli("hooks", "add", url))
    assert "hook_not_found" in one_error_line(cli("hooks", "remove", "hook_0000000000000000"))
    bad = {"TALKSTREAM_HOOKS_ALLOW_PRIVATE": "1"}
    assert "negotiation" in one_error_line(
        cli("hooks", "add", "http://x/", "-n", "Bad Id", env=bad)
    )
    assert "--view" in one_error_line(cli("hooks", "add", "http://x/", "--view", "nope", env=bad))
    assert "http://x/" not in {h["url"] for h in json.loads(ok(cli("hooks", "list")).stdout)}


def test_the_api_refuses_private_targets_when_not_allowed(tmp_path: Path) -> None:
    cli = Runner(tmp_path / "guarded")
    cli.home.mkdir(parents=True)
    with serving(cli.base, cli.environment()) as up:
        admin = ok(cli("keys", "create", "--role", "admin", "--name", "a")).stdout
        with bearer_client(up.url, admin) as client:
            answer = client.post("/v1/hooks", json={"url": "http://localhost:9/hook"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "private_address"
    assert json.loads(ok(cli("hooks", "list")).stdout) == []
