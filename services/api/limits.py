"""Request limits: a cap on body size (413) and a per-principal token bucket (429)."""

from __future__ import annotations

import math
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.exceptions import PayloadTooLarge, RateLimited


class BodyLimit:
    """Refuses a body over ``max_bytes``: at once by Content-Length, else while it streams in
    (the error surfaces where the route reads the body, and is answered as a 413)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def counted() -> Message:
            nonlocal received
            if too_big:
                raise self._error()
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self._error()
            return message

        await self.app(scope, counted, send)

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            "body_too_large",
            f"the request body is larger than {self.max_bytes} bytes",
            details={"max_bytes": self.max_bytes},
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
