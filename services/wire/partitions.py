"""Which partition a negotiation's events go to, defined once for the relay, the projection
workers and the readers: the first 8 bytes of SHA-256 of ``negotiation_id`` (big-endian),
modulo the partition count. Stable across processes and Python versions (no ``hash()``), so
every writer and reader agrees; one negotiation always lands in one partition, which keeps
its events in order."""

from __future__ import annotations

import hashlib
from typing import Any

from redis import Redis

from services.wire.entries import last_position, text
from services.wire.exceptions import BadPartitions
from services.wire.streams import Streams


def partition_of(negotiation_id: str, partitions: int) -> int:
    """The partition (0 .. ``partitions`` - 1) of a negotiation's events."""
    if partitions == 1:
        return 0
    digest = hashlib.sha256(negotiation_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % partitions


def parse_spec(spec: str | None, partitions: int) -> list[int]:
    """The partitions a ``--partitions`` value names: ``0,1``, ``0-2`` or a mix (``0,2-3``);
    None means all of them."""
    if spec is None:
        return list(range(partitions))
    chosen: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise BadPartitions(f"--partitions: {spec!r} is not a list like 0,1 or 0-2")
        first, last = int(low), int(high or low)
        if first > last or last >= partitions:
            raise BadPartitions(
                f"--partitions: {part.strip()!r} is outside 0-{partitions - 1} "
                f"(TALKSTREAM_PARTITIONS={partitions})"
            )
        chosen.update(range(first, last + 1))
    return sorted(chosen)


def published_through(redis: Redis, prefix: str, partitions: int) -> int:
    """How far the event streams hold the store without a gap: the last position of the one
    stream, or with several partitions the lowest position the relay marked every partition
    complete through (``<stream>:through``; 0 while one has no mark)."""
    if partitions == 1:
        return last_position(redis, Streams(prefix).events)
    pipe = redis.pipeline(transaction=False)  # one GET per slot: also on Redis Cluster
    for part in Streams(prefix).partitions(partitions):
        pipe.get(part.relayed_through)
    marks: list[Any] = pipe.execute()
    return min(int(text(m).partition(" ")[0]) if m is not None else 0 for m in marks)
