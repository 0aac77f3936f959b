"""The suite holds the default API port (8000) while it runs, so a test that starts a server
without choosing a free port fails at once, here as on a machine where another program holds
8000, instead of passing only where the port happens to be free."""

from __future__ import annotations

import errno
import socket
import subprocess
from pathlib import Path

import pytest

from services.settings import Settings
from tests.e2e.helpers import Runner, one_error_line
from tests.ports import DEFAULT_PORT


def test_the_guarded_port_is_the_default_api_port() -> None:
    assert Settings().port == DEFAULT_PORT


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_the_default_port_is_held_while_the_tests_run(host: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError) as taken:
            probe.bind((host, DEFAULT_PORT))
    assert taken.value.errno == errno.EADDRINUSE


@pytest.mark.parametrize("command", ["up", "api"])
def test_a_server_started_without_a_port_fails_loudly(
    tmp_path: Path, redis_url: str, prefix: str, command: str
) -> None:
    env = {"TALKSTREAM_REDIS_URL": redis_url, "TALKSTREAM_PREFIX": prefix}
    try:
        result = Runner(tmp_path)(command, env=env, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`talkstream {command}` started serving on the default port {DEFAULT_PORT}")
    line = one_error_line(result)
    assert "address_in_use" in line and f"127.0.0.1:{DEFAULT_PORT}" in line
