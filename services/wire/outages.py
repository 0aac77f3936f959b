"""Living through Redis outages: one log line when Redis goes away and one when it is back
(never a traceback per attempt), backoff between attempts, and FastStream stream subscribers
that survive a restart of Redis.

Why: FastStream 0.7's stream subscribers log every failed read with its traceback, then sleep
5 s; on NOGROUP (a restarted Redis that lost a consumer group) they stop for good (faststream
issues #2611 and #3106). ``keep_reading`` gives a subscriber a read loop that waits quietly
while Redis is away and creates a lost group again; ``until_done`` lets a handler wait out an
outage instead of raising (which would leave its entries pending and log a traceback); and
``RestartWatch`` notices that Redis restarted (its ``run_id`` changed): with AOF ``everysec``
it may have lost its last second of writes, so a component re-reads what it remembered.

Calls that fail are retried with backoff, and an outage is reported only when they keep
failing for half a second: after a restart every pooled connection fails once, although Redis
is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis as AsyncRedis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

__all__ = [
    "REDIS_DOWN",
    "Attempts",
    "Backoff",
    "Outage",
    "RestartWatch",
    "keep_reading",
    "until_done",
]

REDIS_DOWN: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
REPORT_AFTER = 0.5  # seconds of failing calls before an outage is reported
T = TypeVar("T")


class Backoff:
    """Delays that double from ``first`` up to ``cap``."""

    def __init__(self, first: float = 0.1, cap: float = 2.0) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        self._next = self.first


class Outage:
    """One component's view of Redis: logs one line when it goes away and one when it is
    back, however many attempts fail meanwhile. With ``probe`` (a call that reaches Redis), a
    thread tries it with backoff during an outage and ends the outage when it gets through:
    for components that only touch Redis when asked (the API)."""

    def __init__(
        self, component: str, logger: logging.Logger, probe: Callable[[], object] | None = None
    ) -> None:
        self.component = component
        self.log = logger
        self.probe = probe
        self._lock = threading.Lock()
        self._since: float | None = None
        self.ended_at = 0.0  # monotonic time when the last outage ended

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def down(self, error: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        self.log.warning(
            "%s: Redis unavailable (%s: %s); waiting for it",
            self.component,
            type(error).__name__,
            " ".join(str(error).split()),
        )
        if self.probe is not None:
            name = f"redis-probe-{self.component}"
            threading.Thread(target=self._probe_until_back, name=name, daemon=True).start()

    def up(self) -> None:
        with self._lock:
            if self._since is None:
                return
            self.ended_at = time.monotonic()
            lasted, self._since = self.ended_at - self._since, None
        self.log.info("%s: Redis is back after %.1f s", self.component, lasted)

    def _probe_until_back(self) -> None:
        assert self.probe is not None
        backoff = Backoff(0.2, 5.0)
        while self.ongoing:
            time.sleep(backoff.next())
            try:
                self.probe()
            except REDIS_DOWN:
                continue
            self.up()


class Attempts:
    """Failed attempts at one Redis call, retried with backoff from a short first delay; the
    outage is reported only once they have failed for ``REPORT_AFTER`` seconds (after a
    restart every pooled connection fails once, although Redis is back)."""

    def __init__(self, outage: Outage) -> None:
        self.outage = outage
        self.backoff = Backoff(0.05, 2.0)
        self._failing_since: float | None = None
        self._reported = False

    async def failed(self, error: BaseException) -> None:
        await asyncio.sleep(self.delay_after(error))

    def delay_after(self, error: BaseException) -> float:
        """Notes a failed attempt; returns how long to wait before the next (for loops that
        wait in a thread, as the intake poller on Redis Cluster does)."""
        now = time.monotonic()
        since = self._failing_since
        if since is None or self.outage.ended_at > since:  # a new series of failures
            self._failing_since = now
            self._reported = False
            self.backoff.reset()
        elif now - since >= REPORT_AFTER:
            self._reported = True
            self.outage.down(error)
        return self.backoff.next()

    def succeeded(self) -> None:
        if self._reported:
            self.outage.up()
        self._failing_since = None
        self._reported = False
        self.backoff.reset()


async def until_done(call: Callable[[], Awaitable[T]], outage: Outage) -> T:
    """Awaits ``call`` until it gets through to Redis (retried with backoff while Redis is
    away); other errors are raised."""
    attempts = Attempts(outage)
    while True:
        try:
            result = await call()
        except REDIS_DOWN as e:
            await attempts.failed(e)
            continue
        attempts.succeeded()
        return result


def keep_reading(
    subscriber: Any, outage: Outage, recreate_group: Callable[[], Awaitable[object]]
) -> None:
    """Gives a FastStream 0.7 stream subscriber (as ``broker.subscriber`` returns it) a read
    loop that waits out Redis outages and calls ``recreate_group`` on NOGROUP, in place of
    its own ``_consume`` (which FastStream looks up on the instance when it starts reading)."""
    loop = _ReadLoop(subscriber, outage, recreate_group)
    setattr(subscriber, "_consume", loop.run)  # noqa: B010 (an instance attribute on purpose)


class _ReadLoop:
    def __init__(
        self, subscriber: Any, outage: Outage, recreate_group: Callable[[], Awaitable[object]]
    ) -> None:
        self.subscriber = subscriber
        self.outage = outage
        self.recreate_group = recreate_group
        self.reported: set[str] = set()  # other errors, logged once each

    async def run(self, *args: Any, start_signal: Any) -> None:
        start_signal.set()
        attempts = Attempts(self.outage)
        while self.subscriber.running:
            try:
                await self.subscriber._get_msgs(*args)
            except REDIS_DOWN as e:
                await attempts.failed(e)
                continue
            except ResponseError as e:
                if "NOGROUP" in str(e):
                    await until_done(self.recreate_group, self.outage)
                    await asyncio.sleep(attempts.backoff.next())  # never a hot loop
                else:
                    await self._unexpected(e, attempts.backoff)
                continue
            except RedisError as e:
                await self._unexpected(e, attempts.backoff)
                continue
            attempts.succeeded()

    async def _unexpected(self, error: RedisError, backoff: Backoff) -> None:
        text = f"{type(error).__name__}: {error}"
        if text not in self.reported:
            self.reported.add(text)
            self.outage.log.error(
                "%s: reading failed (%s); trying again with backoff", self.outage.component, text
            )
        await asyncio.sleep(backoff.next())


class RestartWatch:
    """Reads Redis's ``run_id`` every ``interval`` seconds on a connection of its own; reports
    outages to ``outage`` and calls ``on_restart`` when the id changed (Redis restarted)."""

    def __init__(
        self,
        url: str,
        outage: Outage,
        on_restart: Callable[[], Awaitable[None]],
        interval: float = 1.0,
    ) -> None:
        self.url = url
        self.outage = outage
        self.on_restart = on_restart
        self.interval = interval
        self._client: AsyncRedis | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._client = AsyncRedis.from_url(
            self.url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0)
        )
        run_id = await self._run_id()
        self._task = asyncio.create_task(self._watch(run_id), name=f"{self.outage.component}-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run_id(self) -> str:
        assert self._client is not None
        info = await self._client.info("server")
        return str(info["run_id"])

    async def _watch(self, known: str) -> None:
        attempts = Attempts(self.outage)
        while True:
            await asyncio.sleep(self.interval)
            try:
                run_id = await self._run_id()
            except REDIS_DOWN as e:
                await attempts.failed(e)
                continue
            attempts.succeeded()
            self.outage.up()
            if run_id != known:
                known = run_id
                await self._restarted()

    async def _restarted(self) -> None:
        self.outage.log.info(
            "%s: Redis restarted; checking what it may have lost", self.outage.component
        )
        try:
            await self.on_restart()
        except RedisError as e:  # the next restart, or the next delivery, tries again
            self.outage.log.error(
                "%s: recovering from the Redis restart failed: %s: %s",
                self.outage.component,
                type(e).__name__,
                e,
            )
