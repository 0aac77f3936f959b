"""An operator restores ``events.db`` from an earlier copy under a running deployment's Redis
(``talkstream up`` processes on free ports): the relay stops at the first differing position,
``/readyz`` and ``/metrics`` say so, writes are stored but answered as degraded, ``audit
verify`` names the position and both hashes; ``talkstream relay --rebuild-stream`` keeps the
old stream under a dated key, republishes the store and rebuilds the views, and everything is
well again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.e2e.helpers import Runner, bearer_client, ok, serving, the_error
from tests.factories import NID, NOTE, body, opening_body
from tests.integration.relay.backups import sqlite_copy

DEADLINE = 60.0


def _wait(predicate: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (found := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


@contextmanager
def up(cli: Runner, env: dict[str, str], key: str) -> Iterator[httpx.Client]:
    """``talkstream up`` on a free port until the block ends (then Ctrl-C, exit 0)."""
    with serving(cli.base, cli.environment(env)) as served, bearer_client(served.url, key) as http:
        yield http
        served.stop()


def _note(http: httpx.Client, text: str) -> httpx.Response:
    event = body("ContextNoted", {**NOTE, "text": text})
    answer = http.post(f"/v1/negotiations/{NID}/events", json=event)
    assert answer.status_code == 201, answer.text
    return answer


def _timeline_texts(http: httpx.Client, position: int) -> list[str]:
    answer = http.get(f"/v1/negotiations/{NID}/timeline", params={"min_position": position})
    assert answer.status_code == 200, answer.text
    return [row["summary"] for row in answer.json()["view"]]


def _readyz(http: httpx.Client) -> httpx.Response:
    return http.get("/readyz")


def test_a_store_restored_from_an_earlier_copy_is_reported_then_repaired(
    cli: Runner, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    key = ok(cli("keys", "create", "--role", "admin", "--name", "ops", env=env)).stdout.strip()
    events_db, backup = cli.home / "events.db", tmp_path / "events-earlier.db"
    with up(cli, env, key) as http:
        assert http.post("/v1/negotiations", json=opening_body()).status_code == 201
        kept = _note(http, "kept note").json()["position"]
        _timeline_texts(http, kept)
        sqlite_copy(events_db, backup)
        for n in range(3):
            lost = _note(http, f"lost note {n}").json()["position"]
        assert any("lost note 2" in t for t in _timeline_texts(http, lost))
    sqlite_copy(backup, events_db)

    with up(cli, env, key) as http:
        ready = _wait(lambda: (r := _readyz(http)).status_code == 503 and r, "readyz 503")
        assert ready.json()["stream_diverged"]["position"] == kept + 1
        problems = [p for p in ready.json()["problems"] if p.startswith("stream_diverged: ")]
        assert len(problems) == 1 and f"position {kept + 1}" in problems[0], ready.json()
        assert f"talkstream_stream_diverged_position {kept + 1}.0" in http.get("/metrics").text
        written = _note(http, "after the restore")
        assert written.json()["position"] == kept + 1
        assert written.headers["Talkstream-Degraded"] == "stream_diverged"
        stream = redis.Redis.from_url(redis_url)
        ((_, old),) = stream.xrange(f"{prefix}:events", f"{kept + 1}-0", f"{kept + 1}-0")
        assert old[b"hash"].decode() != written.json()["hash"]  # never overwritten

        audit = cli("audit", "verify", env=env)
        assert audit.returncode == 1, audit.stderr
        assert "Traceback" not in audit.stderr
        assert f"position {kept + 1}" in audit.stderr
        assert written.json()["hash"] in audit.stderr
        assert old[b"hash"].decode() in audit.stderr

        repair = ok(cli("relay", "--rebuild-stream", env=env))
        summary = repair.stdout.strip().splitlines()
        assert len(summary) == 1 and "rebuilt" in summary[0], repair.stdout
        assert "republish" in repair.stderr  # progress
        (aside,) = stream.scan_iter(match=f"{prefix}:events:diverged:*")
        assert stream.xlen(aside) == lost
        assert aside.decode() in summary[0]
        _wait(lambda: _readyz(http).status_code == 200, "readyz 200 after the repair")
        texts = _timeline_texts(http, kept + 1)
        assert any("after the restore" in t for t in texts), texts
        assert not any("lost note" in t for t in texts), texts
        assert "audit ok" in ok(cli("audit", "verify", env=env)).stdout

        later = _note(http, "after the repair")
        assert "Talkstream-Degraded" not in later.headers
        assert any("after the repair" in t for t in _timeline_texts(http, kept + 2))
        stream.close()

    refused = the_error(cli("relay", "--rebuild-stream", env=env))
    assert refused.startswith("error: stream_not_diverged: ")


def test_audit_verify_without_redis_checks_the_store_and_says_the_stream_was_skipped(
    cli: Runner,
) -> None:
    ok(cli("demo", "--no-serve"))
    result = ok(cli("audit", "verify", env={"TALKSTREAM_REDIS_URL": "redis://127.0.0.1:1/0"}))
    assert "audit ok: 15 events verified" in result.stdout
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("stream: skipped")]
    assert "Redis unreachable" in line
    assert "view negotiation: skipped: Redis unreachable" in result.stderr
