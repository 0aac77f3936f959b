"""The in-memory fan-out of view changes to SSE subscribers: stream order per subscriber,
filters, caps, eviction of a subscriber that falls behind (never holding the others back),
outage comments, and the handover from a resuming subscriber's backlog to the live feed
without a gap or a duplicate."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.api.exceptions import RateLimited
from services.api.fanout import (
    ZERO,
    Change,
    ChangesUnavailable,
    EntryId,
    Fanout,
    Interest,
    Subscription,
    entry_id_text,
    event_stream,
    parse_entry_id,
)
from services.wire.feed import Vector, merged

FRAME_ID = re.compile(r"^id: (\S+)$", re.MULTILINE)


def change(n: int, nid: str = "talks-a", projection: str = "negotiation") -> Change:
    fields = {b"negotiation_id": nid.encode(), b"projection": projection.encode()}
    return Change.from_entry(f"{1000 + n}-0".encode(), {**fields, b"position": str(n).encode()})


def fanout(queue_size: int = 100, max_subscribers: int = 100, max_per_key: int = 100) -> Fanout:
    hub = Fanout(queue_size=queue_size, max_subscribers=max_subscribers, max_per_key=max_per_key)
    hub.begin(ZERO)
    return hub


def ids(frames: Sequence[str]) -> list[str]:
    return [m for frame in frames for m in FRAME_ID.findall(frame)]


async def no_backlog(after: EntryId, upto: EntryId, count: int) -> list[Change]:
    raise AssertionError("no backlog was expected")


async def collect(stream: AsyncIterator[str], until: str) -> list[str]:
    """Frames of the stream up to the first one containing ``until``."""
    got: list[str] = []
    async for frame in stream:
        got.append(frame)
        if until in frame:
            break
    return got


def test_entry_ids_order_as_redis_orders_them() -> None:
    assert parse_entry_id("1700000000000-2") == (1700000000000, 2)
    assert parse_entry_id("9-10") > parse_entry_id("9-9") > parse_entry_id("8-99")
    assert entry_id_text((12, 3)) == "12-3"


def test_changes_reach_each_subscriber_in_stream_order_through_its_filter() -> None:
    async def run() -> tuple[list[object], list[object]]:
        hub = fanout()
        everything = hub.join(Interest(), "a")
        only_b = hub.join(Interest(negotiation="talks-b"), "a")
        hub.publish([change(n, "talks-a" if n % 2 else "talks-b") for n in range(10)])
        return await everything.take(0.1), await only_b.take(0.1)

    everything, only_b = asyncio.run(run())
    assert [c.position for c in everything if isinstance(c, Change)] == list(range(10))
    assert [c.position for c in only_b if isinstance(c, Change)] == [0, 2, 4, 6, 8]


def test_a_projection_filter_keeps_only_that_view() -> None:
    wanted = Interest(negotiation="talks-a", projection="timeline")
    assert wanted.wants(change(1, "talks-a", "timeline"))
    assert not wanted.wants(change(1, "talks-a", "negotiation"))
    assert not wanted.wants(change(1, "talks-b", "timeline"))


def test_a_subscriber_that_falls_behind_is_evicted_and_the_others_get_everything() -> None:
    async def run() -> tuple[Fanout, Subscription, list[int], list[str]]:
        hub = fanout(queue_size=3)
        slow, fast = hub.join(Interest(), "a"), hub.join(Interest(), "a")
        fast_got: list[int] = []
        for n in range(6):
            hub.publish([change(n)])
            fast_got += [c.position for c in await fast.take(0.1) if isinstance(c, Change)]
        stream = event_stream(hub, slow, ZERO, no_backlog, heartbeat=1)
        slow_frames = [frame async for frame in stream]  # it ends by itself
        return hub, slow, fast_got, slow_frames

    hub, slow, fast_got, slow_frames = asyncio.run(run())
    assert fast_got == list(range(6))
    assert slow.ending == "too_slow" and hub.count == 1
    assert ids(slow_frames) == ["1000-0", "1001-0", "1002-0"]  # what it had, then the end
    assert "Last-Event-ID: 1002-0" in slow_frames[-1]
    assert "event: resume" in slow_frames[-1]


def test_caps_per_key_and_per_process_answer_429_until_a_place_is_freed() -> None:
    hub = fanout(max_subscribers=3, max_per_key=2)
    first = hub.join(Interest(), "key-a")
    hub.join(Interest(), "key-a")
    with pytest.raises(RateLimited) as per_key:
        hub.join(Interest(), "key-a")
    assert per_key.value.code == "too_many_subscribers"
    assert per_key.value.details == {"limit": 2, "per": "key"}
    hub.join(Interest(), "key-b")
    with pytest.raises(RateLimited) as per_process:
        hub.join(Interest(), "key-c")
    assert per_process.value.details == {"limit": 3, "per": "process"}
    hub.leave(first)
    hub.leave(first)  # leaving twice is harmless
    assert hub.count == 2
    hub.join(Interest(), "key-c")


def test_an_announcement_reaches_every_subscriber_as_a_comment() -> None:
    async def run() -> list[str]:
        hub = fanout()
        sub = hub.join(Interest(negotiation="elsewhere"), "a")
        hub.announce("Redis unavailable; changes resume when it is back")
        return await collect(event_stream(hub, sub, ZERO, no_backlog, heartbeat=1), "Redis")

    frames = asyncio.run(run())
    assert frames[-1] == ": Redis unavailable; changes resume when it is back\n\n"


def test_an_idle_subscriber_gets_heartbeats() -> None:
    async def run() -> list[str]:
        hub = fanout()
        sub = hub.join(Interest(), "a")
        return await collect(event_stream(hub, sub, ZERO, no_backlog, heartbeat=0.01), "heart")

    assert asyncio.run(run())[-1] == ": heartbeat\n\n"


def test_a_backlog_that_cannot_be_read_ends_the_stream_with_a_comment() -> None:
    async def unreadable(after: EntryId, upto: EntryId, count: int) -> list[Change]:
        raise ChangesUnavailable("connection refused")

    async def run() -> tuple[Fanout, list[str]]:
        hub = fanout()
        hub.publish([change(n) for n in range(3)])
        sub = hub.join(Interest(), "a")
        stream = event_stream(hub, sub, ZERO, unreadable, heartbeat=1)
        return hub, [frame async for frame in stream]

    hub, frames = asyncio.run(run())
    assert "reconnect" in frames[-1] and hub.count == 0


@settings(max_examples=150, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=40),
    data=st.data(),
    page=st.integers(min_value=1, max_value=7),
    only=st.sampled_from([None, "talks-a"]),
)
def test_a_resuming_subscriber_gets_its_backlog_then_the_live_feed_without_gap_or_duplicate(
    total: int, data: st.DataObject, page: int, only: str | None
) -> None:
    """The stream holds ``total`` changes; the fan-out had read ``joined`` of them when the
    subscriber joined, resuming after ``resume`` (behind or ahead of the fan-out); the rest
    arrive in batches while it reads its backlog page by page and afterwards."""
    stream = [change(n, "talks-a" if n % 3 else "talks-b") for n in range(total)]
    joined = data.draw(st.integers(min_value=0, max_value=total), label="joined")
    resume = data.draw(st.integers(min_value=0, max_value=total), label="resume")
    cuts = sorted(data.draw(st.lists(st.integers(joined, total), max_size=6), label="cuts"))
    batches = [stream[a:b] for a, b in zip([joined, *cuts], [*cuts, total], strict=True)]
    start = ZERO if resume == 0 else stream[resume - 1].key
    interest = Interest(negotiation=only)
    expected = [c.id for c in stream[resume:] if interest.wants(c)]

    async def run() -> list[str]:
        hub = fanout(queue_size=1000)
        hub.publish(stream[:joined])
        sub = hub.join(interest, "a")
        pending = list(batches)

        def arrive() -> None:
            if pending:
                hub.publish(pending.pop(0))

        async def read_page(after: EntryId, upto: EntryId, count: int) -> list[Change]:
            arrive()  # live changes come in while the backlog is read
            return [c for c in stream if after < c.key <= upto][:count]

        got: list[str] = []
        frames = event_stream(hub, sub, start, read_page, heartbeat=0.001, page_size=page)
        async for frame in frames:
            got += ids([frame])
            if not pending and frame == ": heartbeat\n\n":
                break  # everything arrived and the queue is empty
            arrive()
        await frames.aclose()
        assert hub.count == 0
        return got

    assert asyncio.run(run()) == expected


PARTITIONS = 3


def cluster_changes(order: list[int]) -> list[Change]:
    """Changes read in ``order`` (a partition each) from 3 partitions' streams, each with
    the reader's vector once it is taken (what ClusterChangeFeed publishes)."""
    at = Vector.start(PARTITIONS)
    found = []
    for n, k in enumerate(order):
        at = at.advanced(k, (2000 + n, k))
        fields = {b"negotiation_id": f"talks-{k}".encode(), b"position": str(n).encode()}
        found.append(Change.of(at.entries[k], fields, partition=k, after=at))
    return found


@settings(max_examples=150, deadline=None)
@given(
    order=st.lists(st.integers(0, PARTITIONS - 1), max_size=30),
    data=st.data(),
    page=st.integers(min_value=1, max_value=5),
)
def test_on_cluster_a_subscriber_resuming_from_a_vector_misses_no_partitions_change(
    order: list[int], data: st.DataObject, page: int
) -> None:
    """As above with vectors: the subscriber resumes from any vector (each partition
    anywhere, ahead of or behind the fan-out), gets each change after it once, and every id
    it is sent is a vector from which resuming would miss nothing it has not seen."""
    stream = cluster_changes(order)
    total = len(stream)
    joined = data.draw(st.integers(min_value=0, max_value=total), label="joined")
    resume = Vector(
        tuple(
            (0, 0) if not mine else data.draw(st.sampled_from([(0, 0), *mine]), label=f"p{k}")
            for k in range(PARTITIONS)
            for mine in [[c.key for c in stream if c.partition == k]]
        )
    )
    cuts = sorted(data.draw(st.lists(st.integers(joined, total), max_size=4), label="cuts"))
    batches = [stream[a:b] for a, b in zip([joined, *cuts], [*cuts, total], strict=True)]
    expected = [c.change_id for c in stream if c.is_new(resume)]

    async def run() -> list[tuple[str, str]]:
        hub = Fanout(queue_size=1000, max_subscribers=9, max_per_key=9)
        hub.begin(Vector.start(PARTITIONS))
        hub.publish(stream[:joined])
        sub = hub.join(Interest(), "a")
        pending = list(batches)

        def arrive() -> None:
            if pending:
                hub.publish(pending.pop(0))

        async def read_page(after: Vector, upto: Vector, count: int) -> list[Change]:
            arrive()
            pages = [
                [
                    (entry_id_text(c.key).encode(), {b"position": str(c.position).encode()})
                    for c in stream
                    if c.partition == k and after.entries[k] < c.key <= upto.entries[k]
                ]
                for k in range(PARTITIONS)
            ]
            return [Change.of_step(step) for step in merged(pages, after, count)]

        got: list[tuple[str, str]] = []
        frames = event_stream(
            hub, sub, resume, read_page, heartbeat=0.001, page_size=page, render=with_change_id
        )
        async for frame in frames:
            got += [(m.group(1), m.group(2)) for m in CHANGE_FRAME.finditer(frame)]
            if not pending and frame == ": heartbeat\n\n":
                break
            arrive()
        await frames.aclose()
        return got

    got = asyncio.run(run())
    assert sorted(change for _, change in got) == sorted(expected)
    for n, (sse_id, _) in enumerate(got):  # resuming from any id sent misses nothing unsent
        rest = {c.change_id for c in stream if c.is_new(Vector.parse(sse_id, PARTITIONS))}
        assert set(expected) - {change for _, change in got[: n + 1]} <= rest


CHANGE_FRAME = re.compile(r"^id: (\S+)\nchange: (\S+)$", re.MULTILINE)


def with_change_id(change: Change) -> str:
    return f"id: {change.id}\nchange: {change.change_id}\n\n"
