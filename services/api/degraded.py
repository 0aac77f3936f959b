"""Saying "degraded" while the event stream has diverged from the store.

Writes are still stored and answered 201 then (the store is the truth), but the stream, and so
the views, no longer follow it: every ``/v1`` answer carries ``Talkstream-Degraded:
stream_diverged`` until the stream is rebuilt. The relay that found the divergence recorded it
in Redis (services/wire/divergence.py), where every API process reads it: at most once a
second for the header (``/readyz`` and ``/metrics`` read it afresh and refresh this copy).
"""

from __future__ import annotations

import math
import time
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.wire.divergence import Divergence

HEADER = "Talkstream-Degraded"
STREAM_DIVERGED = "stream_diverged"
REREAD_SECONDS = 1.0


class DivergenceWatch:
    """The recorded divergence as this process last read it."""

    def __init__(self, redis: AsyncRedis, key: str, reread: float = REREAD_SECONDS) -> None:
        self.redis = redis
        self.key = key
        self.reread = reread
        self._known: Divergence | None = None
        self._read_at = -math.inf

    def update(self, found: Divergence | None) -> None:
        self._known = found
        self._read_at = time.monotonic()

    async def current(self) -> Divergence | None:
        if time.monotonic() - self._read_at >= self.reread:
            self._read_at = time.monotonic()  # during an outage too: one try a second
            try:
                fields: Any = await self.redis.hgetall(self.key)
            except RedisError:
                # Redis is away: the answer itself does not depend on it (writes go to the
                # store, reads report their own failure), so keep what was last known.
                return self._known
            self._known = Divergence.decode(fields)
        return self._known


class Degraded:
    """ASGI middleware adding the header to every ``/v1`` answer while diverged."""

    def __init__(self, app: ASGIApp, watch: DivergenceWatch) -> None:
        self.app = app
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if await self.watch.current() is None:
            await self.app(scope, receive, send)
            return

        async def send_degraded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER.lower().encode(), STREAM_DIVERGED.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_degraded)
