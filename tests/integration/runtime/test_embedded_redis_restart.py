"""The embedded Redis dies (SIGKILL): the process that started it starts it again on the same
port and data dir; the other processes on the home wait for that rather than start a second
server, and take over only when the owner is gone."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from services.runtime.exceptions import RedisUnavailable
from services.runtime.redis_server import redis_for
from services.settings import Settings
from tests.integration.runtime.helpers import (
    UserProcess,
    pid_alive,
    server_record,
    servers_under,
    wait_gone,
)
from tests.threads import Background


def _record(home: Path) -> dict[str, object]:
    record = server_record(home)
    assert record is not None, "no server.json while the server should run"
    return record


def _pid(home: Path) -> int:
    pid = _record(home)["pid"]
    assert isinstance(pid, int)
    return pid


def _kill_server(home: Path) -> int:
    pid = _pid(home)
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid), f"redis-server {pid} survived SIGKILL"
    return pid


def _replaced(home: Path, killed: int, timeout: float = 30.0) -> dict[str, object]:
    """server.json once it names a live server other than ``killed``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = server_record(home)
        pid = record["pid"] if record else None
        if isinstance(pid, int) and pid != killed and pid_alive(pid):
            return record  # type: ignore[return-value]
        time.sleep(0.05)
    raise AssertionError(f"nothing replaced redis-server {killed} within {timeout} s")


@contextmanager
def _stopped(user: UserProcess) -> Iterator[None]:
    """The process frozen (SIGSTOP): alive, but it cannot restart anything until resumed."""
    os.kill(user.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(user.pid, signal.SIGCONT)


def test_the_owner_restarts_a_killed_server_on_the_same_port_and_data_dir(
    settings: Settings, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="talkstream.redis")
    with redis_for(settings) as url:
        client = redis.Redis.from_url(url)
        client.set("talkstream:test:kept", "yes")
        data_dir = client.config_get("dir")
        assert _record(home)["owner"] == os.getpid()
        killed = _kill_server(home)

        restarted = _replaced(home, killed)
        assert restarted["owner"] == os.getpid()
        assert url == f"redis://127.0.0.1:{restarted['port']}/0"
        assert client.get("talkstream:test:kept") == b"yes", "the AOF was not reloaded"
        assert client.config_get("dir") == data_dir
        assert servers_under(home) == {restarted["pid"]}
        client.close()
    assert not pid_alive(int(str(restarted["pid"])))
    assert server_record(home) is None
    restarts = [r.getMessage() for r in caplog.records if "restarted it as" in r.getMessage()]
    assert len(restarts) == 1, restarts
    assert f"pid={killed}" in restarts[0] and "SIGKILL" in restarts[0]


def test_a_server_that_keeps_dying_is_restarted_each_time(settings: Settings, home: Path) -> None:
    with redis_for(settings) as url:
        for _ in range(3):
            killed = _kill_server(home)
            _replaced(home, killed)
            assert redis.Redis.from_url(url).ping()


def test_a_process_that_does_not_own_the_server_waits_for_the_owner_to_restart_it(
    settings: Settings, home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    owner = spawn_user()
    url = owner.read_line()
    with _stopped(owner):
        killed = _kill_server(home)
        joining = Background(_join_and_read_url, settings)
        joining.start()
        time.sleep(1.5)  # while the owner is frozen, the joiner must only wait
        assert joining.is_alive(), f"joined without the owner: {joining.error!r}"
        assert servers_under(home) == set(), "a second server was started"
        assert _pid(home) == killed
    assert joining.outcome(30) == url
    assert _record(home)["owner"] == owner.pid
    assert servers_under(home) == {_pid(home)}


def _join_and_read_url(settings: Settings) -> str:
    with redis_for(settings) as url:
        assert redis.Redis.from_url(url).ping()
        return url


def test_a_process_waiting_for_an_unresponsive_owner_fails_with_a_clear_error(
    home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    owner = spawn_user()
    owner.read_line()
    impatient = Settings(home=home, redis_url=None, redis_owner_wait=1.0)
    with _stopped(owner):
        killed = _kill_server(home)
        with pytest.raises(RedisUnavailable) as caught, redis_for(impatient):
            pytest.fail("redis_for yielded while the owner was frozen")
        assert servers_under(home) == set(), "a second server was started"
    message = caught.value.message
    assert f"redis-server pid {killed}" in message
    assert f"talkstream pid {owner.pid}" in message
    assert "TALKSTREAM_REDIS_OWNER_WAIT" in message
    _replaced(home, killed)  # the owner, resumed, restarts it


def test_a_server_whose_owner_died_is_started_again_on_its_port_by_the_next_user(
    settings: Settings, home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    owner = spawn_user()
    url = owner.read_line()
    owner.kill()
    _kill_server(home)
    with redis_for(settings) as taken_over:
        assert taken_over == url
        assert _record(home)["owner"] == os.getpid()
        assert redis.Redis.from_url(taken_over).ping()


def test_when_the_owner_leaves_another_user_restarts_the_server(
    settings: Settings, home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    with redis_for(settings) as url:
        other = spawn_user()
        assert other.read_line() == url
    assert _record(home)["owner"] is None, "the owner left but still claims the server"

    killed = _kill_server(home)
    restarted = _replaced(home, killed)
    assert restarted["owner"] == other.pid
    assert f"redis://127.0.0.1:{restarted['port']}/0" == url
    other.leave()
    assert wait_gone(int(str(restarted["pid"])))


def test_a_server_stopped_by_its_last_user_is_not_started_again(
    settings: Settings, home: Path
) -> None:
    with redis_for(settings):
        pid = _pid(home)
    assert not pid_alive(pid)
    time.sleep(0.5)  # several watch periods: nothing may bring it back
    assert servers_under(home) == set()
    assert server_record(home) is None
