"""One reader of the changes per API process, fanned out in memory to every SSE
subscriber. A Redis connection per subscriber exhausted the pool at about a hundred
subscribers; here a subscriber costs a bounded queue, and one that cannot keep up is dropped
(told to resume with ``Last-Event-ID``) instead of holding the others back.

A resuming subscriber joins the live feed first, noting the feed's position at that instant,
then reads its backlog up to that position from the stream in pages: everything after the
position is already queued for it, so the handover has no gap and no duplicate.

On one Redis server the reader follows ``<prefix>:changes`` and a position is an entry ID (an
SSE id as it is). On Redis Cluster it follows the P partitions' streams, one blocking read per
stream (a cluster client cannot read keys of several slots in one call), and a position is a
``Vector`` of the partitions' last entry IDs (services/wire/feed.py), which is also each
event's id: a subscriber resumes from it without missing a change of any partition."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from services.api.exceptions import ChangesUnavailable, RateLimited
from services.wire.feed import (
    ZERO,
    EntryId,
    Step,
    Vector,
    change_id,
    entry_id_text,
    merged,
    parse_entry_id,
)

__all__ = ["ZERO", "EntryId", "entry_id_text", "parse_entry_id"]  # and what is defined here

log = logging.getLogger("talkstream.api.subscribe")

Cursor = EntryId | Vector  # a position in the feed: an entry ID, or a vector on Cluster
READ_COUNT = 500  # entries per XREAD of the live feed
PAGE_SIZE = 500  # entries per XRANGE page of a backlog
BACKLOG_READERS = 8  # backlog pages read at once, so resuming crowds cannot drain the pool
BLOCK_MS = 2000
RETRY_SECONDS = 1.0
RECONNECT_MS = 2000  # the `retry:` a stream announces: how long EventSource waits to resume


def cursor_text(cursor: Cursor) -> str:
    """A position as an SSE id."""
    return cursor.text if isinstance(cursor, Vector) else entry_id_text(cursor)


def behind(cursor: Cursor, other: Cursor) -> bool:
    """Whether ``cursor`` has not reached ``other`` (in some partition, on Cluster)."""
    if isinstance(cursor, Vector) and isinstance(other, Vector):
        return not cursor.covers(other)
    assert not isinstance(cursor, Vector) and not isinstance(other, Vector)
    return cursor < other


@dataclass(frozen=True)
class Change:
    """An entry of a changes stream, with its SSE frame built once for every subscriber. On
    Cluster it also knows its partition and the reader's vector once it is taken (``after``),
    which is its SSE id."""

    key: EntryId
    negotiation_id: str
    projection: str
    position: int
    frame: str
    partition: int | None = None
    after: Vector | None = None

    @property
    def id(self) -> str:
        """The SSE id: where a subscriber that has seen this change resumes."""
        return entry_id_text(self.key) if self.after is None else self.after.text

    @property
    def change_id(self) -> str:
        """The change's own id (its CloudEvent id): its entry ID, ``<k>-<entry ID>`` on
        Cluster."""
        return self.id if self.partition is None else change_id(self.partition, self.key)

    @property
    def cursor(self) -> Cursor:
        """The feed's position once this change is taken."""
        return self.key if self.after is None else self.after

    @classmethod
    def from_entry(cls, entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> Change:
        text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        return cls.of(parse_entry_id(text), fields)

    @classmethod
    def of_step(cls, step: Step) -> Change:
        """A change read from a partition's stream on Cluster."""
        return cls.of(step.entry, step.fields, partition=step.partition, after=step.after)

    @classmethod
    def of(
        cls,
        key: EntryId,
        fields: Mapping[bytes, bytes],
        *,
        partition: int | None = None,
        after: Vector | None = None,
    ) -> Change:
        data: dict[str, Any] = {k.decode(): v.decode() for k, v in fields.items()}
        data["position"] = int(data.get("position", "0"))
        sse_id = entry_id_text(key) if after is None else after.text
        return cls(
            key=key,
            negotiation_id=str(data.get("negotiation_id", "")),
            projection=str(data.get("projection", "")),
            position=data["position"],
            frame=f"id: {sse_id}\nevent: change\ndata: {json.dumps(data)}\n\n",
            partition=partition,
            after=after,
        )

    def at(self, after: Vector) -> Change:
        """The same change with another SSE id (a subscriber ahead of the reader somewhere)."""
        frame = self.frame.replace(f"id: {self.id}\n", f"id: {after.text}\n", 1)
        return replace(self, after=after, frame=frame)

    def is_new(self, last: Cursor) -> bool:
        """Whether a subscriber at ``last`` has not had this change yet."""
        if isinstance(last, Vector):
            assert self.partition is not None
            return self.key > last.entries[self.partition]
        return self.key > last

    def taken(self, last: Cursor) -> tuple[Cursor, Change]:
        """A subscriber's position once it has this change, and the change with that id."""
        if isinstance(last, Vector):
            assert self.after is not None
            now = last.joined(self.after)
            return now, (self if now == self.after else self.at(now))
        return max(last, self.key), self


Render = Callable[[Change], str]
"""Frames one change for a subscriber."""


@dataclass(frozen=True)
class Interest:
    """What a subscriber asked for (``None``: everything)."""

    negotiation: str | None = None
    projection: str | None = None

    def wants(self, change: Change) -> bool:
        return (self.negotiation is None or change.negotiation_id == self.negotiation) and (
            self.projection is None or change.projection == self.projection
        )


Item = Change | str  # a change, or a comment for every subscriber


class Subscription:
    """One subscriber's bounded queue. The fan-out offers it items and never waits for it."""

    def __init__(self, interest: Interest, principal: str, joined_at: Cursor, size: int):
        self.interest = interest
        self.principal = principal
        self.joined_at = joined_at
        self.ending: str | None = None  # why the stream ends: too_slow, shutdown
        self._size = size
        self._queue: deque[Item] = deque()
        self._ready = asyncio.Event()

    def offer(self, item: Item) -> bool:
        """Queues the item; False when the queue is full (the item is not queued)."""
        if len(self._queue) >= self._size:
            return False
        self._queue.append(item)
        self._ready.set()
        return True

    def end(self, reason: str) -> None:
        """The stream ends once what is queued has gone out."""
        self.ending = self.ending or reason
        self._ready.set()

    async def take(self, timeout: float) -> list[Item]:
        """Everything queued, waiting up to ``timeout`` for something; [] if nothing came."""
        if not self._queue and self.ending is None:
            try:
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            except TimeoutError:
                return []
        self._ready.clear()
        items = list(self._queue)
        self._queue.clear()
        return items


class Fanout:
    """The subscribers of one process and the live feed's position (the last entry read)."""

    def __init__(self, *, queue_size: int, max_subscribers: int, max_per_key: int) -> None:
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self.max_per_key = max_per_key
        self.position: Cursor | None = None  # None until the reader has found the streams' end
        self.closed = False
        self._subscribers: set[Subscription] = set()
        self._per_key: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return len(self._subscribers)

    def begin(self, position: Cursor) -> None:
        if self.position is None or behind(self.position, position):
            self.position = position

    def join(self, interest: Interest, principal: str) -> Subscription:
        """A new subscriber, live from the current position; 429 beyond a cap."""
        if self.position is None or self.closed:
            raise ChangesUnavailable("the changes stream is not being followed")
        if self._per_key[principal] >= self.max_per_key:
            raise _too_many(self.max_per_key, "key", f"for {principal!r}")
        if len(self._subscribers) >= self.max_subscribers:
            raise _too_many(self.max_subscribers, "process", "on this server")
        sub = Subscription(interest, principal, self.position, self.queue_size)
        self._subscribers.add(sub)
        self._per_key[principal] += 1
        return sub

    def leave(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            self._per_key[sub.principal] -= 1
            if not self._per_key[sub.principal]:
                del self._per_key[sub.principal]

    def publish(self, changes: Sequence[Change]) -> None:
        """Queues each change for the subscribers that want it, in stream order; a subscriber
        whose queue is full is dropped from the feed (it ends its stream itself)."""
        if not changes:
            return
        for sub in list(self._subscribers):
            for change in changes:
                if sub.interest.wants(change) and not sub.offer(change):
                    self.leave(sub)
                    sub.end("too_slow")
                    break
        self.begin(changes[-1].cursor)

    def close_all(self) -> None:
        """Ends every stream (the server is stopping) and takes no new subscriber."""
        self.closed = True
        for sub in list(self._subscribers):
            self.leave(sub)
            sub.end("shutdown")

    def announce(self, comment: str) -> None:
        """A comment line for every subscriber (dropped for one whose queue is full)."""
        for sub in self._subscribers:
            sub.offer(comment)


def _too_many(limit: int, per: str, where: str) -> RateLimited:
    return RateLimited(
        "too_many_subscribers",
        f"already {limit} subscriptions {where}; close one or retry later",
        details={"limit": limit, "per": per},
        headers={"Retry-After": "5"},
    )


ReadPage = Callable[[Any, Any, int], Awaitable[Sequence[Change]]]
"""The changes after a position up to another (entry IDs, or vectors on Cluster), at most
``count``."""


async def event_stream(
    fanout: Fanout,
    sub: Subscription,
    start: Cursor,
    read_page: ReadPage,
    *,
    heartbeat: float,
    page_size: int = PAGE_SIZE,
    render: Render | None = None,
) -> AsyncIterator[str]:
    """The frames of one subscription: the backlog after ``start`` (if it is behind the
    feed), then the live changes, a heartbeat comment when idle; ends with a ``resume``
    event if the subscriber fell behind. Leaves the fan-out however it ends. ``render``
    frames a change otherwise than its prebuilt ``frame`` (as CloudEvents)."""
    frame_of = render or _prebuilt
    try:
        yield f"retry: {RECONNECT_MS}\n: following changes after {cursor_text(start)}\n\n"
        last = start
        try:
            async for page in _backlog(read_page, start, sub, page_size):
                last = page[-1].taken(last)[0]
                yield "".join(frame_of(c) for c in page)
        except ChangesUnavailable:
            log.debug("a backlog read failed; the subscriber is told to reconnect")
            yield ": Redis unavailable; reconnect with Last-Event-ID later\n\n"
            return
        while True:
            items = await sub.take(heartbeat)
            frames: list[str] = []
            for item in items:
                if not isinstance(item, Change):
                    frames.append(f": {item}\n\n")
                elif item.is_new(last):
                    last, change = item.taken(last)
                    frames.append(frame_of(change))
            if frames:
                yield "".join(frames)
            elif sub.ending is not None:
                yield _resume(sub.ending, last)
                return
            elif not items:
                yield ": heartbeat\n\n"
    finally:
        fanout.leave(sub)


async def _backlog(
    read_page: ReadPage, start: Cursor, sub: Subscription, page_size: int
) -> AsyncIterator[Sequence[Change]]:
    """Pages of the wanted changes after ``start`` up to where ``sub`` joined the feed."""
    after = start
    while behind(after, sub.joined_at):
        page = await read_page(after, sub.joined_at, page_size)
        if not page:
            return
        after = page[-1].cursor
        wanted = [c for c in page if sub.interest.wants(c)]
        if wanted:
            yield wanted


def _prebuilt(change: Change) -> str:
    return change.frame


ENDINGS = {"too_slow": "too slow to keep up", "shutdown": "server shutting down"}


def _resume(reason: str, last: Cursor) -> str:
    """The last frame: why the stream ends and where to resume (EventSource reconnects by
    itself after ``retry`` with the last ``id`` it saw)."""
    text = cursor_text(last)
    data = json.dumps({"reason": reason, "last_event_id": text})
    return (
        f": {ENDINGS[reason]}; reconnect with Last-Event-ID: {text}\n"
        f"event: resume\ndata: {data}\n\n"
    )


class FeedReader:
    """The fan-out and its reader task, which follows the changes from the feed's position
    (``_follow``, by kind of Redis) and starts over after a failure; an outage is one log line
    when it starts and one when it ends, and a comment to every subscriber each time."""

    def __init__(
        self,
        redis: AsyncRedis,
        fanout: Fanout,
        *,
        block_ms: int = BLOCK_MS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.redis = redis
        self.fanout = fanout
        self.block_ms = block_ms
        self.retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._down = False
        self._backlog_readers: asyncio.Semaphore | None = None
        self._ready: asyncio.Event | None = None

    async def start(self) -> None:
        self._stopping = False
        self.fanout.closed = False
        self._backlog_readers = asyncio.Semaphore(BACKLOG_READERS)
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="changes-reader")

    async def until_ready(self, timeout: float) -> None:
        """Returns once the reader has found the stream's end; ChangesUnavailable if it
        has not within ``timeout`` seconds (Redis unreachable since the start)."""
        if self._ready is None:
            raise ChangesUnavailable("the changes reader is not running")
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            raise ChangesUnavailable("the changes stream could not be reached") from None

    async def stop(self) -> None:
        """Ends every stream and the reader. The reader also checks a flag between reads,
        so it ends even if a cancellation is lost inside the Redis client."""
        self.fanout.close_all()
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=self.block_ms / 1000 + self.retry_seconds + 1)
            if not self._task.done():
                log.warning("the changes reader did not stop")
            self._task = None

    @property
    def followed(self) -> str:
        raise NotImplementedError

    async def top(self) -> Cursor:
        """The feed's end: where a subscriber that has seen everything is."""
        raise NotImplementedError

    async def _follow(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._follow()
            except (RedisError, ChangesUnavailable, OSError) as e:
                self._went_down(e)
                await asyncio.sleep(self.retry_seconds)

    async def _reached(self) -> None:
        """Finds the feed's end the first time, or checks that Redis answers again; then
        subscribers may join."""
        if self.fanout.position is None:
            self.fanout.begin(await self.top())
        else:
            await self.redis.ping()
        assert self._ready is not None
        self._ready.set()
        self._came_back()

    def _went_down(self, e: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning("changes reader: Redis unavailable (%s); retrying", e)
            self.fanout.announce("Redis unavailable; changes resume when it is back")

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            log.info("changes reader: Redis is back; following %s again", self.followed)
            self.fanout.announce("Redis is back; changes resume")


class ChangeFeed(FeedReader):
    """The reader on one Redis server: XREAD BLOCK on ``<prefix>:changes`` from the feed's
    position, one connection for the whole process."""

    def __init__(self, redis: AsyncRedis, stream: str, fanout: Fanout, **options: Any) -> None:
        super().__init__(redis, fanout, **options)
        self.stream = stream

    @property
    def followed(self) -> str:
        return self.stream

    async def top(self) -> EntryId:
        """The stream's last entry ID (ZERO when empty)."""
        try:
            last: Any = await self.redis.xrevrange(self.stream, count=1)
        except RedisError as e:
            raise ChangesUnavailable(str(e)) from e
        return parse_entry_id(last[0][0].decode()) if last else ZERO

    async def read_page(self, after: EntryId, upto: EntryId, count: int) -> list[Change]:
        """Entries after ``after`` up to ``upto`` (both entry IDs), at most ``count``."""
        assert self._backlog_readers is not None, "the feed was not started"
        async with self._backlog_readers:
            try:
                entries: Any = await self.redis.xrange(
                    self.stream,
                    min=f"({entry_id_text(after)}",
                    max=entry_id_text(upto),
                    count=count,
                )
            except RedisError as e:
                raise ChangesUnavailable(str(e)) from e
        return [Change.from_entry(entry_id, fields) for entry_id, fields in entries]

    async def _follow(self) -> None:
        await self._reached()
        while not self._stopping:
            position = self.fanout.position
            assert position is not None and not isinstance(position, Vector)
            reply: Any = await self.redis.xread(
                {self.stream: entry_id_text(position)},
                count=min(READ_COUNT, self.fanout.queue_size),  # one read fits a queue
                block=self.block_ms,
            )
            if reply:
                self.fanout.publish([Change.from_entry(i, f) for i, f in reply[0][1]])


class ClusterChangeFeed(FeedReader):
    """The reader on Redis Cluster: one blocking XREAD loop per partition's changes stream
    (each in its own slot), all in this one task and on this one client, publishing into the
    same fan-out. Each change gets the reader's vector once it is taken, computed as it is
    published (no await between), so the vectors the subscribers see only grow."""

    def __init__(
        self, redis: AsyncRedis, streams: Sequence[str], fanout: Fanout, **options: Any
    ) -> None:
        super().__init__(redis, fanout, **options)
        self.streams = list(streams)

    @property
    def followed(self) -> str:
        return f"the {len(self.streams)} partitions' changes streams"

    @property
    def partitions(self) -> int:
        return len(self.streams)

    async def top(self) -> Vector:
        """Each partition stream's last entry ID (ZERO for an empty one)."""
        try:
            tops: list[Any] = await asyncio.gather(
                *(self.redis.xrevrange(s, count=1) for s in self.streams)
            )
        except RedisError as e:
            raise ChangesUnavailable(str(e)) from e
        return Vector(tuple(parse_entry_id(t[0][0].decode()) if t else ZERO for t in tops))

    async def read_page(self, after: Vector, upto: Vector, count: int) -> list[Change]:
        """Changes after ``after`` up to ``upto`` in every partition, at most ``count``, in
        entry ID order across partitions (each with the vector once it is taken)."""
        assert self._backlog_readers is not None, "the feed was not started"
        async with self._backlog_readers:
            try:
                pages: list[Any] = await asyncio.gather(
                    *(
                        self._range(stream, low, high, count)
                        for stream, low, high in zip(
                            self.streams, after.entries, upto.entries, strict=True
                        )
                    )
                )
            except RedisError as e:
                raise ChangesUnavailable(str(e)) from e
        return [Change.of_step(step) for step in merged(pages, after, count)]

    async def _range(self, stream: str, low: EntryId, high: EntryId, count: int) -> Any:
        if low >= high:
            return []
        return await self.redis.xrange(
            stream, min=f"({entry_id_text(low)}", max=entry_id_text(high), count=count
        )

    async def _follow(self) -> None:
        await self._reached()
        readers = [
            asyncio.create_task(self._follow_partition(k), name=f"changes-reader-{k}")
            for k in range(self.partitions)
        ]
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # the first failure, if any, to be retried by _run
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _follow_partition(self, k: int) -> None:
        stream = self.streams[k]
        while not self._stopping:
            position = self.fanout.position
            assert isinstance(position, Vector)
            reply: Any = await self.redis.xread(
                {stream: entry_id_text(position.entries[k])},
                count=min(READ_COUNT, self.fanout.queue_size),
                block=self.block_ms,
            )
            if reply:
                self.fanout.publish(self._taken(k, reply[0][1]))

    def _taken(self, k: int, entries: Sequence[Any]) -> list[Change]:
        """The entries read from partition ``k``, each with the vector once it is taken."""
        at = self.fanout.position
        assert isinstance(at, Vector)
        changes = []
        for entry_id, fields in entries:
            at = at.advanced(k, parse_entry_id(entry_id.decode()))
            changes.append(Change.of(at.entries[k], fields, partition=k, after=at))
        return changes


Feed = ChangeFeed | ClusterChangeFeed
"""The reader of this process's Redis: one server's, or a Redis Cluster's."""
