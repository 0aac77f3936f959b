"""A private redis-server for the tests that stop, kill or restart their Redis: the shared one
at 127.0.0.1:6379 must never go away under the other tests."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from services.runtime.redis_server import find_redis_server
from tests.ports import free_port
from tests.waiting import wait_for


class PrivateRedis:
    """A redis-server of this test's own (bundled binary, AOF on, free port, own data dir) that
    can be stopped and started again on the same port and data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec"]
        args += ["--save", "", "--daemonize", "no", "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        probe = Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            wait_for(lambda: self._answers(probe), 10, f"redis-server on port {self.port}")
        finally:
            probe.close()

    def _answers(self, probe: Redis) -> bool:
        assert self.proc is not None and self.proc.poll() is None, "redis-server exited"
        try:
            return bool(probe.ping())
        except (RedisError, OSError):  # refused, or still loading its AOF
            return False

    def stop(self) -> None:
        """A clean stop (SIGTERM: Redis flushes the AOF and exits)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def delete_data(self) -> None:
        """Deletes its AOF files (while it is down): it comes back empty."""
        for path in self.dir.glob("appendonly*"):
            path.unlink()
