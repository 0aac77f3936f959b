"""A 3-primary Redis Cluster of a test's own: three redis-server processes (the system's, which
has ``--cluster-port``) on free ports, each with its own data dir, joined with CLUSTER MEET and
given a third of the slots each; killed and removed afterwards."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.ports import free_port
from tests.waiting import wait_for

SLOTS = ((0, 5460), (5461, 10922), (10923, 16383))


def cluster_server() -> str | None:
    """A redis-server that can run a cluster on a chosen bus port (7.0 or later)."""
    found = shutil.which("redis-server", path="/usr/bin:/usr/local/bin")
    if found is None:
        return None
    version = subprocess.run(
        [found, "--version"], check=True, capture_output=True, text=True
    ).stdout
    major = version.split("v=")[1].split(".")[0] if "v=" in version else "0"
    return found if int(major) >= 7 else None


class LocalCluster:
    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.nodes = [(free_port(), free_port()) for _ in SLOTS]  # (port, bus port)
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0][0]}"

    def start(self) -> None:
        for k, (port, bus) in enumerate(self.nodes):
            data = self.root / f"node{k}"
            data.mkdir(parents=True)
            args = [self.binary, "--port", str(port), "--cluster-port", str(bus)]
            args += ["--bind", "127.0.0.1", "--cluster-enabled", "yes", "--dir", str(data)]
            args += ["--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"]
            args += ["--daemonize", "no", "--logfile", str(data / "redis.log")]
            self.procs.append(
                subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
            )
        clients = [Redis(port=port, socket_timeout=2) for port, _ in self.nodes]
        try:
            for client in clients:
                wait_for(lambda c=client: self._answers(c), 10, "a cluster node to start")
            for (low, high), client in zip(SLOTS, clients, strict=True):
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
            for port, bus in self.nodes[1:]:
                clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus)
            for client in clients:
                wait_for(lambda c=client: self._ready(c), 30, "the cluster to agree")
        finally:
            for client in clients:
                client.close()

    def _answers(self, client: Redis) -> bool:
        assert all(p.poll() is None for p in self.procs), "a cluster node exited"
        try:
            return bool(client.ping())
        except (RedisError, OSError):
            return False

    @staticmethod
    def _ready(client: Redis) -> bool:
        info = client.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text and "cluster_known_nodes:3" in text

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_cluster(root: Path) -> Iterator[LocalCluster]:
    """A started cluster under ``root``, stopped afterwards; skips the test without a
    redis-server that can run one."""
    binary = cluster_server()
    if binary is None:
        pytest.skip("no redis-server 7 or later to run a cluster with")
    started = LocalCluster(binary, root)
    try:
        started.start()
        yield started
    finally:
        started.stop()
