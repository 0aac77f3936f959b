"""Request limits: a cap on body size (413) and on the time a body takes to arrive (408),
and a per-principal token bucket (429)."""

from __future__ import annotations

import asyncio
import math
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.exceptions import PayloadTooLarge, RateLimited, RequestTimeout


class BodyLimit:
    """Refuses a body over ``max_bytes``: at once by Content-Length, else while it streams in;
    and a body that has not fully arrived ``timeout`` seconds after the route began reading it
    (a client trickling bytes would hold the connection forever). The error surfaces where the
    route reads the body, and is answered as a 413 or a 408 (the connection then closes unless
    the rest of the body arrives within the same bound: ``services.api.protocol``)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        received = 0
        deadline: float | None = None
        complete = False

        async def counted() -> Message:
            nonlocal received, deadline, complete
            if complete:  # the body is in: what follows is a wait for the disconnect
                return await receive()
            if too_big:
                raise self._error()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self.timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise self._late() from None
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self._error()
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            "body_too_large",
            f"the request body is larger than {self.max_bytes} bytes",
            details={"max_bytes": self.max_bytes},
        )

    def _late(self) -> RequestTimeout:
        return RequestTimeout(
            "body_timeout",
            f"the request body did not arrive within {self.timeout:g} s",
            details={"timeout_seconds": self.timeout},
        )


class RateLimiter:
    """A token bucket per principal: ``rate`` requests a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            if tokens < 1:
                self._buckets[who] = (tokens, now)
                wait = math.ceil((1 - tokens) / self.rate)
                raise RateLimited(
                    "rate_limited",
                    f"more than {self.rate:g} requests a second for {who!r}; retry later",
                    details={"retry_after_seconds": wait},
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[who] = (tokens - 1, now)
