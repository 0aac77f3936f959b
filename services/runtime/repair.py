"""Repairing an event stream that diverged from the store (``talkstream relay
--rebuild-stream``).

The store is the truth. The old stream is kept, renamed to
``<prefix>:events:diverged:<UTC timestamp>`` (what readers were served stays inspectable), and
in the same script its consumer groups are created again, at 0, on the new stream, so running
projection workers keep reading without an error. Then every stored event is republished,
every view is rebuilt from the new stream and switched in although it stands behind the old
one, and the recorded divergence is cleared, which lets paused relays go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from projections.live.rebuild import Rebuilt, rebuild
from projections.live.store import ViewStore
from projections.views import STORED
from services.recorder.application import Negotiations
from services.relay import divergence, partitioned
from services.relay.exceptions import StreamNotDiverged
from services.runtime.bootstrap import build_application
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.connect import connect
from services.wire.divergence import Divergence, clear, record, recorded
from services.wire.entries import last_position
from services.wire.streams import Streams

Progress = Callable[[str], object]

# KEYS: the stream, the key to move it to. Returns {1, entries moved} or {0, 0} when there is
# no stream, {-1, 0} when the target exists.
MOVE_ASIDE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
local length = redis.call('XLEN', KEYS[1])
redis.call('RENAME', KEYS[1], KEYS[2])
for _, group in ipairs(groups) do
  redis.call('XGROUP', 'CREATE', KEYS[1], group[2], '0', 'MKSTREAM')
end
return {1, length}
"""


@dataclass(frozen=True)
class StreamRebuilt:
    divergence: Divergence | None  # None when forced without one
    moved_to: str | None  # None when there was no stream to move
    moved_entries: int
    published: int
    position: int
    views: list[Rebuilt]

    def summary(self) -> str:
        kept = (
            f"the old stream ({self.moved_entries} entries) is kept as {self.moved_to}"
            if self.moved_to
            else "there was no old stream"
        )
        return (
            f"stream rebuilt: {self.published} events republished from the store through "
            f"position {self.position}, {len(self.views)} views rebuilt; {kept}"
        )


def compare_stream(settings: Settings, app: Negotiations) -> tuple[Divergence | None, int]:
    """The first difference between the event stream and the store (forward, page by page),
    and the stream's length."""
    with redis_for(settings) as url:
        redis = connect(url, socket_connect_timeout=5)
        try:
            stream = Streams(settings.prefix).events
            return divergence.compare(app, redis, stream), int(redis.xlen(stream))
        finally:
            redis.close()


def rebuild_stream(
    settings: Settings, *, force: bool = False, progress: Progress = lambda _: None
) -> StreamRebuilt:
    """Refuses (StreamNotDiverged) when the stream agrees with the store, unless ``force``."""
    with redis_for(settings) as url:
        redis = connect(url)
        app = build_application(settings)
        try:
            return _rebuild(settings, app, redis, force, progress)
        finally:
            app.close()
            redis.close()


def _rebuild(
    settings: Settings, app: Negotiations, redis: Redis, force: bool, progress: Progress
) -> StreamRebuilt:
    streams = Streams(settings.prefix)
    parts = streams.partitions(settings.partitions)
    found = _divergence(app, redis, streams, progress, compare=len(parts) == 1)
    if found is None and not force:
        raise StreamNotDiverged(
            f"the event stream agrees with the store (stream at position "
            f"{last_position(redis, streams.events)}, store at {app.max_position()}); "
            "nothing to repair (--force rebuilds it anyway)"
        )
    moved_to, moved = None, 0
    for part in parts:
        target, entries = _move_aside(redis, part)
        redis.delete(part.relayed_through)
        if target:
            progress(f"moved {part.events} ({entries} entries) aside to {target}")
            moved_to, moved = moved_to or target, moved + entries
    relay = partitioned.build(
        app,
        redis,
        prefix=settings.prefix,
        partitions=settings.partitions,
        batch=settings.relay_batch,
    )
    progress(f"republishing {app.max_position()} stored events…")
    position = relay.catch_up(lambda at: progress(f"  republished through position {at}"))
    progress(f"republished {relay.stats.published} events through position {position}")
    views = [
        rebuild(
            redis,
            ViewStore(redis, settings.prefix, projection.name, partition=part.partition),
            projection,
            part.events,
            progress=progress,
            replace=True,
        )
        for projection in STORED.values()  # each stored state once (timeline, audit: negotiation's)
        for part in parts
    ]
    clear(redis, streams.events_diverged)
    return StreamRebuilt(found, moved_to, moved, relay.stats.published, position, views)


def _divergence(
    app: Negotiations, redis: Redis, streams: Streams, progress: Progress, *, compare: bool
) -> Divergence | None:
    """The recorded divergence, else (with ``compare``: one partition) the first difference
    found by comparing the whole stream with the store (recorded then, so that relays pause
    during the repair)."""
    found = recorded(redis, streams.events_diverged)
    if found is not None:
        progress(f"recorded divergence: {found.describe()}")
        return found
    if not compare:
        return None
    progress("comparing the event stream with the store…")
    found = divergence.compare(app, redis, streams.events)
    if found is not None:
        progress(f"found divergence: {found.describe()}")
        record(redis, streams.events_diverged, found)
    return found


def _move_aside(redis: Redis, streams: Streams) -> tuple[str | None, int]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 100):
        target = streams.events_moved_aside(stamp if attempt == 1 else f"{stamp}-{attempt}")
        reply: Any = redis.eval(MOVE_ASIDE, 2, streams.events, target)
        moved, entries = int(reply[0]), int(reply[1])
        if moved >= 0:
            return (target if moved else None), entries
    raise AssertionError("unreachable: 99 streams moved aside within one second")
