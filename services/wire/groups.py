"""Consumer groups, created by talkstream itself at ``0`` with MKSTREAM before FastStream
starts: FastStream would create them at ``$`` (missing the entries written before the first
consumer), and one created at ``0`` through its StreamSub busy-loops after a restart
(faststream issue #2694)."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import ResponseError


def ensure_group(redis: Redis, stream: str, group: str) -> bool:
    """Creates the consumer group at 0 (MKSTREAM); False if it existed already."""
    try:
        redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
        return False
    return True
