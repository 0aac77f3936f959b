"""``talkstream health ROLE``, the containers' healthcheck, against real processes on this test's
own Redis prefix: exit 0 while the role's process runs; exit 1 with one line once it is killed
(its heartbeat runs out) or stopped (it takes itself out); for the API, /readyz decides."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from services.settings import Settings
from tests.e2e.helpers import Runner, one_error_line, serving
from tests.ports import free_port
from tests.processes import TalkstreamProcess, stop_process, talkstream_env
from tests.waiting import wait_for

HEARTBEAT = "1"  # seconds: a killed process is reported within about one second


def _env(tmp_path: Path, redis_url: str, prefix: str) -> dict[str, str]:
    settings = Settings(home=tmp_path / "home", redis_url=redis_url, prefix=prefix)
    return talkstream_env(settings, TALKSTREAM_HEARTBEAT_SECONDS=HEARTBEAT)


def _health(cli: Runner, env: dict[str, str], role: str) -> subprocess.CompletedProcess[str]:
    return cli("health", role, env=env)


def test_health_follows_a_relay_that_runs_then_is_killed(
    cli: Runner, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = _env(tmp_path, redis_url, prefix)
    relay = TalkstreamProcess("relay", env, tmp_path / "relay.log")
    try:
        wait_for(lambda: _health(cli, env, "relay").returncode == 0, 90, "a healthy relay")
        answer = _health(cli, env, "relay")
        assert answer.stdout.startswith("relay alive on "), answer.stdout
        assert answer.stdout.strip().endswith(f"process {relay.proc.pid}"), answer.stdout
        assert _health(cli, env, "intake").returncode == 1  # another role is not this one
        relay.proc.send_signal(signal.SIGKILL)
        relay.proc.wait(30)
        wait_for(lambda: _health(cli, env, "relay").returncode == 1, 90, "the heartbeat to end")
        line = one_error_line(_health(cli, env, "relay"))
        assert line.startswith("error: unhealthy: no relay process on "), line
    finally:
        relay.kill()
        assert "Traceback" not in relay.output(), relay.tail()


def test_a_projector_that_stops_cleanly_is_unhealthy_at_once(
    cli: Runner, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    env = _env(tmp_path, redis_url, prefix) | {"TALKSTREAM_HEARTBEAT_SECONDS": "600"}
    projector = TalkstreamProcess("project", env, tmp_path / "project.log")
    try:
        wait_for(lambda: _health(cli, env, "project").returncode == 0, 90, "a healthy projector")
        assert stop_process(projector.proc, signal.SIGINT) == 0, projector.tail()
        answer = _health(cli, env, "project")  # long before its 600 s would run out
        assert answer.returncode == 1, answer.stdout
        assert "no project process on " in one_error_line(answer)
    finally:
        projector.kill()


def test_health_api_asks_readyz(cli: Runner, tmp_path: Path, redis_url: str, prefix: str) -> None:
    env = cli.environment(_env(tmp_path, redis_url, prefix))
    with serving(cli.base, env, command="api") as served:
        answer = _health(cli, {**env, "TALKSTREAM_PORT": str(served.port)}, "api")
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.strip() == f"api ready at http://127.0.0.1:{served.port}/readyz"
    nobody = free_port()
    line = one_error_line(_health(cli, {**env, "TALKSTREAM_PORT": str(nobody)}, "api"))
    assert line.startswith(f"error: unhealthy: http://127.0.0.1:{nobody}/readyz does not answer")
