"""Heartbeats of the long-running processes, so that a container healthcheck can tell a live
relay, intake, projector or deliverer from a dead or cut-off one (``talkstream health ROLE``).

Each process adds its process ID to ``<prefix>:alive:<role>:<host>`` (a sorted set) scored with
the Unix time its heartbeat runs out, and beats three times per ``TALKSTREAM_HEARTBEAT_SECONDS``.
A check reads that one key: a member scored after now is a fresh heartbeat. One key per role and
host (rather than one per process) keeps the check to one read, with no scan of the keyspace; a
killed process's member simply runs out. Writer and reader share the host, hence the clock.
A process that cannot reach Redis cannot do its work either, and its heartbeat runs out too.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from services.runtime.exceptions import Unhealthy
from services.settings import Settings
from services.wire.connect import connect
from services.wire.streams import Streams

log = logging.getLogger("talkstream.heartbeat")
BEATS_PER_PERIOD = 3


def this_host() -> str:
    """The host name processes and checks agree on (a container's own name in Compose)."""
    return socket.gethostname()


@dataclass(frozen=True)
class Heartbeat:
    """One process's heartbeat under ``key``: ``member`` scored with its expiry time."""

    redis: Redis
    key: str
    member: str
    seconds: float

    def beat(self) -> None:
        now = time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(self.key, "-inf", now)
        pipe.zadd(self.key, {self.member: now + self.seconds})
        pipe.pexpire(self.key, int(self.seconds * 1000) + 1)
        pipe.execute()

    def end(self) -> None:
        """Takes this process out at once (a clean stop need not wait for the expiry)."""
        self.redis.zrem(self.key, self.member)


def heartbeat_of(settings: Settings, redis_url: str, role: str) -> Heartbeat:
    key = Streams(settings.prefix).alive(role, this_host())
    return Heartbeat(connect(redis_url), key, str(os.getpid()), settings.heartbeat_seconds)


def _beat_until(heartbeat: Heartbeat, stop: threading.Event) -> None:
    interval = heartbeat.seconds / BEATS_PER_PERIOD
    while True:
        try:
            heartbeat.beat()
        except RedisError as e:
            log.warning("heartbeat not written (%s); it runs out unless Redis answers again", e)
        if stop.wait(interval):
            return


@contextmanager
def beating(settings: Settings, redis_url: str, role: str) -> Iterator[Heartbeat]:
    """Beats for ``role`` from a thread while the block runs; taken out when it ends."""
    heartbeat = heartbeat_of(settings, redis_url, role)
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_until, args=(heartbeat, stop), name=f"heartbeat-{role}", daemon=True
    )
    thread.start()
    try:
        yield heartbeat
    finally:
        stop.set()
        thread.join(5)
        try:
            heartbeat.end()
        except RedisError as e:
            log.warning("heartbeat not taken out (%s); it runs out by itself", e)
        heartbeat.redis.close()


def alive_processes(settings: Settings, redis_url: str, role: str, host: str) -> list[str]:
    """The process IDs of ``role`` on ``host`` whose heartbeat is fresh; Unhealthy when Redis
    cannot be read."""
    key = Streams(settings.prefix).alive(role, host)
    client = connect(redis_url, socket_connect_timeout=3, socket_timeout=3, decode_responses=True)
    try:
        members = client.zrangebyscore(key, time.time(), "+inf")
    except RedisError as e:
        raise Unhealthy(f"Redis cannot be read ({e})") from None
    finally:
        client.close()
    return sorted(str(m) for m in members)


def check_alive(settings: Settings, redis_url: str, role: str) -> str:
    """One line naming the live processes of ``role`` on this host; Unhealthy when none beat
    within the last ``heartbeat_seconds``."""
    host = this_host()
    pids = alive_processes(settings, redis_url, role, host)
    if not pids:
        raise Unhealthy(
            f"no {role} process on {host} has beaten within "
            f"{settings.heartbeat_seconds:g} s (TALKSTREAM_HEARTBEAT_SECONDS)"
        )
    return f"{role} alive on {host}: process {', '.join(pids)}"
