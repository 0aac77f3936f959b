"""uvicorn's HTTP/1.1 protocol (h11) with the bounds it lacks. uvicorn times out an idle
keep-alive connection, but a client that trickles its request head, never sends one, keeps
sending a body nobody reads after the answer, or stops reading what it asked for (an SSE
stream) holds its connection forever. Here each of those has a deadline, and connections
beyond a cap are answered 503 at once; every refusal is the API's JSON error shape.

The body read deadline (408 while a route waits for the body) is
``services.api.limits.BodyLimit``'s: only the application knows when it reads the body."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("talkstream.api.connections")
SHUTDOWN_HOOK = "talkstream.on_shutdown"  # lifespan state: called when the server stops
LINGER_SECONDS = 2.0  # after a refusal, input is read and dropped this long before closing


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout: float  # seconds to receive a whole request head
    drain_timeout: float  # seconds a client may go on sending a body after the answer
    send_timeout: float  # seconds a client may leave what it was sent unread


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class BoundedH11Protocol(H11Protocol):
    """One connection. ``limits`` is set on the subclass ``bounded_protocol`` makes."""

    limits: ClassVar[ConnectionLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.app = _over_capacity(self.limits.max_connections)
        self._arm(self.limits.header_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._stalled is not None:
            self._stalled.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # answered and closing: the rest is dropped
        waiting_for_head = self.conn.their_state is h11.IDLE
        if waiting_for_head and self._deadline is None:
            self._arm(self.limits.header_timeout, self._head_too_slow)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and waiting_for_head:
            self._disarm()  # the head is in: the route bounds the body
        if self.conn.their_state is h11.IDLE and not waiting_for_head:
            self._arm(self.limits.header_timeout, self._head_too_slow)  # next request

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self._arm(self.limits.drain_timeout, self._close)

    def shutdown(self) -> None:
        """The server is stopping: open streams (SSE) are asked to end now, so they close
        cleanly instead of being cancelled when the grace period runs out."""
        hook = self.app_state.get(SHUTDOWN_HOOK)
        if callable(hook):
            hook()
        super().shutdown()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.limits.send_timeout, self._reader_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        message = f"the request head did not arrive within {self.limits.header_timeout:g} s"
        body = error_body("header_timeout", message)
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self._linger_then_close()

    def _linger_then_close(self) -> None:
        """Ends the answer with a FIN, then drops input for a while before closing: closing
        at once with the client's bytes unread would send a reset, and the client could lose
        the answer."""
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(LINGER_SECONDS, self._close)

    def _reader_stalled(self) -> None:
        self._stalled = None
        log.debug(
            "closing a connection whose client read nothing for %gs", self.limits.send_timeout
        )
        self.transport.abort()

    def _close(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def bounded_protocol(limits: ConnectionLimits) -> type[BoundedH11Protocol]:
    """The protocol class for uvicorn's ``http`` option, bound to ``limits``."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"limits": limits})


def _over_capacity(limit: int) -> Any:
    body = error_body(
        "too_many_connections", f"the server holds its maximum of {limit} connections; retry"
    )

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"retry-after", b"1"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return answer
