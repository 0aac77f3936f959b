"""Heartbeats on a real Redis (this test's own prefix): a beating process is alive for its
role on this host, and is not once it stops, is killed (its heartbeat runs out) or beats on
another host; a Redis that cannot be read is a failed check, not a traceback."""

from __future__ import annotations

import os

import pytest
import redis

from services.runtime.exceptions import Unhealthy
from services.runtime.heartbeat import (
    Heartbeat,
    alive_processes,
    beating,
    check_alive,
    this_host,
)
from services.settings import Settings
from services.wire.streams import Streams
from tests.ports import free_port
from tests.waiting import wait_for


def test_a_beating_process_is_alive_for_its_role_until_it_stops(redis_settings: Settings) -> None:
    url = str(redis_settings.redis_url)
    with beating(redis_settings, url, "relay"):
        wait_for(
            lambda: alive_processes(redis_settings, url, "relay", this_host()),
            30,
            "the first heartbeat",
        )
        line = check_alive(redis_settings, url, "relay")
        assert line == f"relay alive on {this_host()}: process {os.getpid()}"
        with pytest.raises(Unhealthy, match="no project process"):
            check_alive(redis_settings, url, "project")
    with pytest.raises(Unhealthy, match=r"no relay process on .* within 15 s"):
        check_alive(redis_settings, url, "relay")


def test_a_heartbeat_that_is_not_renewed_runs_out(redis_settings: Settings) -> None:
    url = str(redis_settings.redis_url)
    key = Streams(redis_settings.prefix).alive("intake", this_host())
    client = redis.Redis.from_url(url)
    Heartbeat(client, key, "4242", seconds=600).beat()
    assert alive_processes(redis_settings, url, "intake", this_host()) == ["4242"]
    Heartbeat(client, key, "4242", seconds=0.5).beat()  # its last beat, then it dies
    wait_for(
        lambda: not alive_processes(redis_settings, url, "intake", this_host()),
        30,
        "the heartbeat to run out",
    )
    with pytest.raises(Unhealthy, match="no intake process"):
        check_alive(redis_settings, url, "intake")
    client.close()


def test_another_hosts_heartbeat_does_not_count_here(redis_settings: Settings) -> None:
    url = str(redis_settings.redis_url)
    key = Streams(redis_settings.prefix).alive("deliver", "another-host")
    heartbeat = Heartbeat(redis.Redis.from_url(url), key, "1", seconds=600)
    heartbeat.beat()
    assert alive_processes(redis_settings, url, "deliver", "another-host") == ["1"]
    with pytest.raises(Unhealthy, match=f"no deliver process on {this_host()}"):
        check_alive(redis_settings, url, "deliver")
    heartbeat.redis.close()


def test_a_redis_that_does_not_answer_is_a_failed_check(redis_settings: Settings) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(Unhealthy, match="Redis cannot be read"):
        check_alive(redis_settings, nowhere, "relay")
