"""A raw-socket client of ``GET /v1/subscribe`` for tests that hold hundreds of subscribers in
one process (a thread and an httpx client each would not scale), and a trickling client."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Frame:
    """One block of the event stream: its comment lines and its fields."""

    comments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def event(self) -> str | None:
        return self.fields.get("event")

    @property
    def id(self) -> str | None:
        return self.fields.get("id")

    @property
    def data(self) -> Any:
        return json.loads(self.fields["data"]) if "data" in self.fields else None


class RawSubscriber:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.status = 0
        self.body = b""
        self._text = ""
        self.ended = False

    @classmethod
    async def open(
        cls,
        port: int,
        key: str | None,
        *,
        query: str = "",
        last_event_id: str | None = None,
        receive_buffer: int | None = None,
    ) -> RawSubscriber:
        """``receive_buffer``: a small one makes a client that stops reading stall the
        server quickly."""
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        sub = cls(reader, writer)
        head = f"GET /v1/subscribe{query} HTTP/1.1\r\nHost: test\r\n"
        head += f"Authorization: Bearer {key}\r\n" if key else ""
        head += f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
        writer.write((head + "\r\n").encode())
        await sub._read_head()
        return sub

    async def _read_head(self) -> None:
        self.status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if self.status != 200:
            self.body = await self.reader.readexactly(length)

    @property
    def error(self) -> dict[str, Any]:
        return dict(json.loads(self.body)["error"])

    async def frame(self, timeout: float = 10.0) -> Frame:
        """The next block of the stream; EOFError when the server ended the stream."""
        async with asyncio.timeout(timeout):
            while "\n\n" not in self._text:
                await self._read_chunk()
        block, _, self._text = self._text.partition("\n\n")
        frame = Frame()
        for line in block.split("\n"):
            if line.startswith(":"):
                frame.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                frame.fields[name] = value.removeprefix(" ")
        return frame

    async def change(self, timeout: float = 10.0) -> Frame:
        """The next ``change`` event, skipping comments and other events."""
        async with asyncio.timeout(timeout):
            while (frame := await self.frame(timeout)).event != "change":
                pass
        return frame

    async def _read_chunk(self) -> None:
        try:
            size_line = await self.reader.readline()
        except ConnectionResetError:
            size_line = b""
        if not size_line:
            self.ended = True
            raise EOFError("the server closed the connection")
        size = int(size_line.strip(), 16)
        data = await self.reader.readexactly(size + 2)
        if size == 0:
            self.ended = True
            raise EOFError("the server ended the stream")
        self._text += data[:-2].decode()

    def close(self, *, reset: bool = False) -> None:
        """Closes the socket; ``reset`` sends a TCP RST instead of a FIN."""
        if reset:
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.close()


async def closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Reads until the server closes the connection (a FIN or a reset); returns what it
    sent."""
    got = b""
    async with asyncio.timeout(timeout):
        try:
            while chunk := await reader.read(65536):
                got += chunk
        except ConnectionResetError:
            pass
    return got
