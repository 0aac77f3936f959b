"""``talkstream redis-url``: the Redis this home uses, for redis-cli and other clients (the
embedded server listens on a port chosen at start, not on 6379); ``up`` prints it too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import redis

from tests.e2e.helpers import Runner, ok, one_error_line, serving


def test_prints_the_configured_url_as_it_is(cli: Runner) -> None:
    url = "redis://:secret@redis.example:6380/2"
    result = ok(cli("redis-url", env={"TALKSTREAM_REDIS_URL": url}))
    assert result.stdout == url + "\n"


def test_without_a_running_server_says_how_to_start_one(cli: Runner) -> None:
    result = cli("redis-url")
    line = one_error_line(result)
    assert result.returncode == 1
    assert "no Redis" in line and "talkstream up" in line and "TALKSTREAM_REDIS_URL" in line
    assert not (cli.home / "redis" / "server.json").exists()


def test_a_record_left_by_a_dead_server_is_not_a_running_server(cli: Runner) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (cli.home / "redis").mkdir(parents=True)
    record = {"pid": gone.pid, "port": 1, "binary": "redis-server"}
    (cli.home / "redis" / "server.json").write_text(json.dumps(record))
    line = one_error_line(cli("redis-url"))
    assert "no Redis" in line


def test_names_the_embedded_server_that_up_started_and_up_prints_it(tmp_path: Path) -> None:
    cli = Runner(tmp_path)
    with serving(tmp_path, cli.environment()) as up:
        url = ok(cli("redis-url")).stdout.strip()
        record = json.loads((cli.home / "redis" / "server.json").read_text())
        assert url == f"redis://127.0.0.1:{record['port']}/0"
        client = redis.Redis.from_url(url)
        try:
            assert client.info("server")["process_id"] == record["pid"]
        finally:
            client.close()
        assert f"redis:      {url} " in up.stderr()
        up.stop()
    line = one_error_line(cli("redis-url"))
    assert "no Redis" in line
