"""Requests to the API's own routes from inside the same process, through the whole ASGI app
(its authentication, roles, limits and errors): the page reads the audit routes (verify,
checkpoint, inclusion proofs) and follows ``/v1/subscribe`` this way, so it answers exactly
what the API would, without importing it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.types import Message

STOP_WAIT = 5.0  # seconds a cancelled call may take to end


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def _scope(
    request: Request, path: str, query: dict[str, str], headers: dict[str, str]
) -> dict[str, object]:
    scope = {
        k: v
        for k, v in request.scope.items()
        if k in ("type", "asgi", "http_version", "scheme", "client", "server", "root_path")
    }
    scope.update(
        method="GET",
        path=path,
        raw_path=path.encode(),
        query_string=urlencode(query).encode(),
        headers=[(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()],
    )
    if "state" in request.scope:
        scope["state"] = dict(request.scope["state"])
    return scope


class _Call:
    """One in-process request: its messages queued as the app sends them; the app is told the
    client left when the caller stops reading."""

    def __init__(self, request: Request, scope: dict[str, object]) -> None:
        self.messages: asyncio.Queue[Message | None] = asyncio.Queue()
        self.left = asyncio.Event()
        self._asked = False
        self.task = asyncio.create_task(self._run(request, scope))

    async def _run(self, request: Request, scope: dict[str, object]) -> None:
        try:
            await request.app(scope, self._receive, self.messages.put)
        finally:
            await self.messages.put(None)

    async def _receive(self) -> Message:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def start(self) -> tuple[int, str]:
        message = await self.messages.get()
        if message is None or message["type"] != "http.response.start":
            return 500, ""
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in message["headers"]}
        return int(message["status"]), headers.get("content-type", "")

    async def chunks(self) -> AsyncIterator[bytes]:
        while (message := await self.messages.get()) is not None:
            if message["type"] == "http.response.body":
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

    async def close(self) -> None:
        self.left.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), STOP_WAIT)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def get(
    request: Request, path: str, query: dict[str, str], headers: dict[str, str]
) -> Answer:
    """``GET path?query`` through the app, read to the end."""
    call = _Call(request, _scope(request, path, query, headers))
    try:
        status, content_type = await call.start()
        body = b"".join([chunk async for chunk in call.chunks()])
    finally:
        await call.close()
    return Answer(status, content_type, body)


@dataclass
class Stream:
    status: int
    content_type: str
    first: bytes
    call: _Call

    async def body(self) -> AsyncIterator[bytes]:
        """The answer's body as it comes; the in-process request ends when this does."""
        try:
            if self.first:
                yield self.first
            async for chunk in self.call.chunks():
                yield chunk
        finally:
            await self.call.close()


async def stream(
    request: Request, path: str, query: dict[str, str], headers: dict[str, str]
) -> Stream:
    """``GET path?query`` through the app, its body followed as it streams (server-sent
    events); an error answer comes whole in ``first``."""
    call = _Call(request, _scope(request, path, query, headers))
    status, content_type = await call.start()
    if status == 200:
        return Stream(status, content_type, b"", call)
    try:
        first = b"".join([chunk async for chunk in call.chunks()])
    finally:
        await call.close()
    return Stream(status, content_type, first, call)
