"""Whether the event stream and the store hold the same history, and where they part.

The stream's entry ID is the store's position and each entry carries the event's ``hash``, so
two histories are compared position by position by their hashes alone. A store restored from
an earlier copy (or a PostgreSQL restored from backup) records new events at positions the
stream already holds for the lost ones: then the hashes differ, or the stream holds positions
the store lacks. The store is the truth; a stream that differs is never "fixed" by guessing.

Two comparisons, both reading page by page (bounded memory):
- ``first_difference`` walks both forward from position 1 (``audit verify``, the repair);
- ``start_of_difference`` walks down from a position known to differ until the histories
  agree (the relay, which finds a difference at the stream's end or at a refused position and
  must name where it starts without reading the whole history).

A found divergence is recorded in Redis (services/wire/divergence.py) so that every process of
a deployment (relays, API instances) sees it, until ``talkstream relay --rebuild-stream``
clears it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeAlias

from redis import Redis

from services.recorder.application import Negotiations
from services.wire.divergence import Divergence
from services.wire.entries import entry_id, hash_of, last_position, position_of

PAGE = 500
Pair: TypeAlias = tuple[int, str]  # (position, hash)


def first_difference(store: Iterable[Pair], stream: Iterable[Pair]) -> Divergence | None:
    """The first position, in order, where the histories differ. Store events after the
    stream's last entry are not a difference (the relay has not sent them yet); a position
    neither side has is none either (PostgreSQL may skip an id)."""
    stored, streamed = iter(store), iter(stream)
    s, r = next(stored, None), next(streamed, None)
    while r is not None:
        if s is None or r[0] < s[0]:
            return Divergence(r[0], None, r[1])
        if s[0] < r[0]:
            return Divergence(s[0], s[1], None)
        if s[1] != r[1]:
            return Divergence(s[0], s[1], r[1])
        s, r = next(stored, None), next(streamed, None)
    return None


def start_of_difference(
    store_down: Iterable[Pair], stream_down: Iterable[Pair]
) -> Divergence | None:
    """Walks both histories downwards (each from the same position) until a position where
    both hold the same hash; returns the lowest difference above it (None if they agree at
    once). This names where the run of differences at the top starts: a restored store's
    history agrees with the stream below the restore point."""
    stored, streamed = iter(store_down), iter(stream_down)
    s, r = next(stored, None), next(streamed, None)
    lowest: Divergence | None = None
    while s is not None or r is not None:
        here = max(pair[0] for pair in (s, r) if pair is not None)
        store_hash = s[1] if s is not None and s[0] == here else None
        stream_hash = r[1] if r is not None and r[0] == here else None
        if store_hash is not None and store_hash == stream_hash:
            return lowest
        lowest = Divergence(here, store_hash, stream_hash)
        if store_hash is not None:
            s = next(stored, None)
        if stream_hash is not None:
            r = next(streamed, None)
    return lowest


# Reading both histories page by page


def store_hashes(app: Negotiations, after: int = 0) -> Iterator[Pair]:
    for n in app.notifications(after=after, page=PAGE):
        yield n.id, app.body_of(n)[1]


def store_hashes_down(app: Negotiations, top: int) -> Iterator[Pair]:
    high = top
    while high >= 1:
        low = max(1, high - PAGE + 1)
        page = app.recorder.select_notifications(low, PAGE, stop=high)
        for n in reversed(page):
            yield n.id, app.body_of(n)[1]
        high = low - 1


def stream_hashes(redis: Redis, stream: str) -> Iterator[Pair]:
    start = "-"
    while page := _entries(redis.xrange(stream, min=start, count=PAGE)):
        for at, fields in page:
            yield position_of(at), hash_of(fields)
        start = "(" + page[-1][0].decode()


def stream_hashes_down(redis: Redis, stream: str, top: int) -> Iterator[Pair]:
    end = entry_id(top)
    while page := _entries(redis.xrevrange(stream, max=end, count=PAGE)):
        for at, fields in page:
            yield position_of(at), hash_of(fields)
        end = "(" + page[-1][0].decode()


def _entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return list(reply)


def compare(app: Negotiations, redis: Redis, stream: str) -> Divergence | None:
    """The first difference between the whole stream and the store, with both ends."""
    found = first_difference(store_hashes(app), stream_hashes(redis, stream))
    return None if found is None else found.found(app.max_position(), last_position(redis, stream))


def locate(app: Negotiations, redis: Redis, stream: str, at: Divergence) -> Divergence:
    """Where the run of differences that includes ``at`` starts, with both ends."""
    start = start_of_difference(
        store_hashes_down(app, at.position), stream_hashes_down(redis, stream, at.position)
    )
    return (start or at).found(app.max_position(), last_position(redis, stream))
