"""The event stream against the store: the same positions, and at each the same hash and the
same bytes (the ``event`` field is exactly the stored bytes that were hashed). With several
partitions their streams are read together in position order, which is the store's order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Any

from redis import Redis

from services.recorder.audit import STREAM_MISMATCH, Finding, Seen
from services.wire.entries import position_of

PAGE = 1000
LIMIT = 100  # findings kept; the first is what matters


class StreamCheck:
    """Fed by the store pass in position order; reads the stream page by page beside it.
    Store events after the stream's last entry are not a difference (the relay has not sent
    them yet)."""

    name = "stream"

    def __init__(self, redis: Redis, stream: str | Sequence[str]) -> None:
        self.findings: list[Finding] = []
        self.compared = 0
        streams = [stream] if isinstance(stream, str) else list(stream)
        self._entries = heapq.merge(
            *(self._read(redis, s) for s in streams), key=lambda entry: entry[0]
        )
        self._next: tuple[int, dict[bytes, bytes]] | None = next(self._entries, None)

    @staticmethod
    def _read(redis: Redis, stream: str) -> Iterator[tuple[int, dict[bytes, bytes]]]:
        low = "-"
        while True:
            page: Any = redis.xrange(stream, min=low, max="+", count=PAGE)
            for entry_id, fields in page:
                yield position_of(entry_id), fields
            if len(page) < PAGE:
                return
            low = f"({page[-1][0].decode()}"

    def see(self, seen: Seen) -> None:
        while self._next is not None and self._next[0] < seen.position:
            self._extra(*self._next)
            self._next = next(self._entries, None)
        if self._next is None or self._next[0] != seen.position:
            if self._next is not None:
                self._found(seen.position, seen.negotiation_id, "the stream lacks this event")
            return
        self.compared += 1
        problem = _difference(seen, self._next[1])
        if problem:
            self._found(seen.position, seen.negotiation_id, problem)
        self._next = next(self._entries, None)

    def finish(self) -> list[Finding] | str:
        while self._next is not None:
            self._extra(*self._next)
            self._next = next(self._entries, None)
        if not self.compared and not self.findings:
            return "the stream holds no event yet"
        return self.findings

    def _extra(self, position: int, fields: dict[bytes, bytes]) -> None:
        nid = fields.get(b"negotiation_id", b"").decode(errors="replace") or None
        self._found(position, nid, "the stream holds an entry the store does not")

    def _found(self, position: int, negotiation_id: str | None, reason: str) -> None:
        if len(self.findings) < LIMIT:
            self.findings.append(Finding(STREAM_MISMATCH, position, negotiation_id, reason))


def _difference(seen: Seen, fields: dict[bytes, bytes]) -> str | None:
    """What differs between a stored event and its stream entry, if anything."""
    streamed_hash = fields.get(b"hash", b"").decode(errors="replace")
    if streamed_hash != seen.hash:
        return f"the stream's hash {streamed_hash or '(none)'} differs from the store's {seen.hash}"
    if fields.get(b"event") != seen.body:
        return "the stream's event bytes differ from the stored bytes"
    if fields.get(b"position") != str(seen.position).encode():
        return "the stream entry's position field differs from its entry ID"
    wire = seen.wire or {}
    for name in ("type", "negotiation_id"):
        if fields.get(name.encode()) != str(wire.get(name)).encode():
            return f"the stream entry's {name} field differs from the event's"
    return None
