"""Retention of the intake stream: entries that every consumer group has acknowledged are
trimmed (their outcome is in the results or reply stream, a refusal also in the dead stream).

The safe point is computed per group from XINFO GROUPS and XPENDING, both in Redis 6.2 (a
group's ``lag`` and ``entries-read`` are 7.0 only): with entries pending, the group's oldest
pending entry; without, the entry after its last delivered one (everything up to it was
acknowledged, everything after it is not delivered yet). ``XTRIM MINID`` then removes the
entries below the lowest point of all groups. A stream without groups is left alone, and
only the intake stream is ever trimmed: the events stream is the store's copy in Redis.
"""

from __future__ import annotations

import logging
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

log = logging.getLogger("talkstream.intake")

StreamId = tuple[int, int]


def trim_acknowledged(redis: Redis, stream: str) -> int:
    """Trims ``stream`` of the entries every group acknowledged; returns how many went."""
    point = trim_point(redis, stream)
    if point is None or point == (0, 1):
        return 0
    removed = int(redis.xtrim(stream, minid=_text(point), approximate=False))
    if removed:
        log.info("intake trimmed stream=%s entries=%s below=%s", stream, removed, _text(point))
    return removed


def trim_point(redis: Redis, stream: str) -> StreamId | None:
    """The lowest entry ID some group still needs (entries below it may go); None when the
    stream has no groups (or does not exist)."""
    try:
        groups: list[dict[str, Any]] = redis.xinfo_groups(stream)
    except ResponseError as e:
        if "no such key" in str(e).lower():
            return None
        raise
    points = [_needed_from(redis, stream, group) for group in groups]
    return min(points, default=None)


def _needed_from(redis: Redis, stream: str, group: dict[str, Any]) -> StreamId:
    if group["pending"]:
        oldest = redis.xpending(stream, group["name"])["min"]
        if oldest is not None:  # else acknowledged since XINFO: its last delivered holds
            return _parse(oldest)
    ms, seq = _parse(group["last-delivered-id"])
    return ms, seq + 1


def _parse(entry_id: bytes | str) -> StreamId:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _text(point: StreamId) -> str:
    return f"{point[0]}-{point[1]}"
