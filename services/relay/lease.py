"""The relay lease: several relays may run, exactly one publishes.

A relay becomes the holder by taking a fencing token (INCR on ``<prefix>:relay:fence-counter``)
and setting ``<prefix>:relay:lease`` to ``<holder id> <token>`` with SET NX PX. The holder
renews it a third of the lease apart, with a script that extends it only while it still holds
its own value; the others stand by and try again at the same pace, so one takes over within
about the lease time after the holder dies.

Expiry alone cannot stop a holder that was paused (a long GC, a stopped VM) from publishing
after another took over: the token does. The XADD script (services/relay/relay.py) keeps the
highest token that published on ``<stream>:fence`` and refuses a lower one, and a holder that
could not renew for the lease time counts itself out before the key has even expired.

Acquiring, losing and taking over are one log line each, naming the holder and the token.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("talkstream.relay")

# KEYS[1]: the lease; ARGV: the holder's value, the lease in ms. 1 when renewed, 0 when the
# lease is no longer this value (expired, or another holder's).
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS[1]: the lease; ARGV[1]: the holder's value. Deleted only while it is this value.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def holder_id() -> str:
    """This relay's name in the lease: host, process, and a random part (two relays of one
    process are two holders)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """One relay's side of the lease: whether it holds it, and with which token."""

    def __init__(
        self,
        redis: Redis,
        *,
        key: str,
        counter: str,
        lease_ms: int,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.key = key
        self.counter = counter
        self.lease_ms = lease_ms
        self.holder = holder or holder_id()
        self.clock = clock
        self.on_acquired: list[Callable[[int], object]] = []
        self.on_lost: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self._token: int | None = None
        self._valid_until = 0.0  # by this process's clock: counted from before the command
        self._seen: str | None = None  # the other holder last seen while standing by
        self._down = False
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)

    @property
    def renew_every(self) -> float:
        return self.lease_ms / 3000

    @property
    def token(self) -> int | None:
        """The fencing token while this relay holds the lease, else None."""
        with self._lock:
            token = self._token
            expired = token is not None and self.clock() >= self._valid_until
        if expired:
            self.lost("expired")
            return None
        return token

    def held(self) -> bool:
        return self.token is not None

    def _value(self, token: int) -> str:
        return f"{self.holder} {token}"

    def tick(self) -> None:
        """Renews the lease while held; otherwise tries to take it."""
        with self._lock:
            token = self._token
        if token is not None:
            self._renew_held(token)
        else:
            self._try_acquire()

    def _renew_held(self, token: int) -> None:
        started = self.clock()
        renewed = int(self._renew(keys=[self.key], args=[self._value(token), self.lease_ms]))
        if not renewed:
            self.lost("taken")
            return
        with self._lock:
            if self._token == token:
                self._valid_until = started + self.lease_ms / 1000

    def _try_acquire(self) -> None:
        current = self.redis.get(self.key)
        if current is not None:
            self._seen = current.decode() if isinstance(current, bytes) else str(current)
            return
        started = self.clock()
        token = int(self.redis.incr(self.counter))
        if not self.redis.set(self.key, self._value(token), nx=True, px=self.lease_ms):
            return  # another relay took it between the two commands
        with self._lock:
            self._token = token
            self._valid_until = started + self.lease_ms / 1000
        if self._seen is not None:
            previous, _, previous_token = self._seen.partition(" ")
            log.info(
                "relay lease: taken over holder=%s token=%s previous_holder=%s previous_token=%s",
                self.holder,
                token,
                previous,
                previous_token,
            )
        else:
            log.info("relay lease: acquired holder=%s token=%s", self.holder, token)
        self._seen = None
        for listener in self.on_acquired:
            listener(token)

    def lost(self, reason: str) -> None:
        """Stops counting as the holder (once per lease held): one log line, then the
        ``on_lost`` listeners. ``reason``: ``expired`` (not renewed in time), ``taken``
        (another holds it), ``fenced`` (a newer token published), ``stopping``."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        if reason == "stopping":
            log.info("relay lease: released holder=%s token=%s", self.holder, token)
        else:
            log.warning(
                "relay lease: lost holder=%s token=%s reason=%s; standing by",
                self.holder,
                token,
                reason,
            )
        for listener in self.on_lost:
            listener()

    def release(self) -> None:
        """On a clean stop: gives the lease up at once, so that a standby takes over without
        waiting for it to expire."""
        with self._lock:
            token = self._token
        if token is None:
            return
        with suppress(RedisError):  # then it expires by itself
            self._release(keys=[self.key], args=[self._value(token)])
        self.lost("stopping")

    def run(self, stop: threading.Event) -> None:
        """Takes or renews the lease a third of the lease apart until ``stop``; then releases
        it. A Redis outage (or error) is one log line and one line when it ends; the lease is
        lost when it outlasts the lease."""
        while not stop.is_set():
            try:
                self.tick()
            except RedisError as e:  # away, or refusing writes (a replica, out of memory)
                if not self._down:
                    log.warning("relay lease: Redis unavailable (%s); retrying", e)
                self._down = True
                self.held()  # counts itself out once the lease has run out
            else:
                if self._down:
                    log.info("relay lease: Redis is back")
                self._down = False
            stop.wait(self.renew_every)
        self.release()


def lease_thread(lease: Lease, stop: threading.Event) -> threading.Thread:
    """``lease.run`` in a started daemon thread."""
    thread = threading.Thread(target=lease.run, args=(stop,), name="relay-lease", daemon=True)
    thread.start()
    return thread


@contextmanager
def lease_kept(lease: Lease) -> Iterator[Lease]:
    """Takes or renews ``lease`` in a thread until the block ends; then releases it."""
    stop = threading.Event()
    thread = lease_thread(lease, stop)
    try:
        yield lease
    finally:
        stop.set()
        thread.join(10)
