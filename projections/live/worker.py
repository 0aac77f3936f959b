"""Projection workers: one FastStream batch subscriber per projection on ``<prefix>:events``,
each in its own consumer group ``<prefix>:proj:<name>``, created here at ``0`` (MKSTREAM)
before FastStream starts (docs/architecture.md, library traps). A delivered batch only says
"the stream has reached position P": the applier reads from its tracked position through P
itself, so order never depends on delivery. A second subscriber claims entries left pending by
a dead worker; both acknowledge after the commit.

Under a steady flow the per-delivery cost (FastStream's dispatch, a thread hop, a commit)
dominates, so a short delivery that follows the previous one within twice ``linger_ms`` first
waits ``linger_ms``; its commit then also covers what arrived meanwhile (read beyond the
delivered entries), and the later delivery of those entries is acknowledged without touching
Redis. An isolated event is applied at once.

Redis outages (see services/wire/outages.py): reads and handlers wait while Redis is away
and log one line when it goes and one when it is back; a group that a restarted Redis lost is
created again at ``0``; and after any restart each applier forgets what its last commit left
(Redis may have lost its last second, so the views may stand behind it) and catches up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from functools import partial
from typing import Any

from faststream import FastStream
from faststream.redis import RedisBatchStreamMessage, RedisBroker, RedisStreamMessage, StreamSub
from redis import Redis
from redis.exceptions import RedisError

from projections.live.apply import Applier, EntryReader, SharedReads
from projections.live.statecache import STATE_BUDGET_EVENTS
from projections.live.store import ViewStore
from projections.views import PROJECTIONS, STORED, Projection
from services.wire.entries import position_of
from services.wire.groups import ensure_group
from services.wire.outages import Outage, RestartWatch, keep_reading, until_done
from services.wire.streams import Streams

log = logging.getLogger("talkstream.projections")
FOLLOW_SECONDS = 1.0


def recreate_lost_group(redis: Redis, stream: str, group: str, projection: str) -> None:
    """The group again at 0 if Redis lost it (its entries are delivered again: harmless, the
    applier skips what it tracked)."""
    if ensure_group(redis, stream, group):
        log.warning("projection=%s consumer group %s was lost; created it again", projection, group)


def appliers(
    redis: Redis,
    prefix: str,
    *,
    projections: Mapping[str, Projection] = PROJECTIONS,
    partition: int | None = None,
    state_budget: int = STATE_BUDGET_EVENTS,
) -> dict[str, Applier]:
    """One applier per stored state the chosen projections are served from (``timeline``
    and ``audit`` are rendered from ``negotiation``'s: asking for any of them runs it), on
    one partition's stream and views (``partition`` None: the only one)."""
    events = Streams(prefix, partition).events
    stores = dict.fromkeys(p.store for p in projections.values())
    reads = SharedReads(EntryReader(redis, events))  # one reader for the process's appliers
    return {
        store: Applier(
            redis,
            ViewStore(redis, prefix, store, partition=partition),
            _folding(store, projections),
            events,
            reads=reads,
            state_budget=state_budget,
        )
        for store in stores
    }


def partition_appliers(
    redis: Redis,
    prefix: str,
    *,
    projections: Mapping[str, Projection] = PROJECTIONS,
    partitions: Sequence[int] = (0,),
    count: int = 1,
    state_budget: int = STATE_BUDGET_EVENTS,
) -> dict[tuple[str, int | None], Applier]:
    """The appliers of the chosen partitions (of ``count``), keyed by stored state and
    partition (None when there is one partition: today's keys); the partitions share the
    ``state_budget`` of each stored state."""
    found: dict[tuple[str, int | None], Applier] = {}
    chosen = partitions if count > 1 else [None]
    budget = state_budget // max(1, len(chosen))
    for k in chosen:
        made = appliers(redis, prefix, projections=projections, partition=k, state_budget=budget)
        for store, applier in made.items():
            found[(store, k)] = applier
    return found


def _folding(store: str, projections: Mapping[str, Projection]) -> Projection:
    """The projection that folds the state stored under ``store``: the caller's own if it
    chose it, else the registered one."""
    own = projections.get(store)
    return own if own is not None and own.store == store else STORED[store]


async def positions_only(
    message: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], Awaitable[Any]]
) -> Any:
    """FastStream's batch message without its entries' fields: the applier reads the entries
    itself, so only their IDs (kept in the raw message, which acknowledges them) matter.
    FastStream would otherwise decode every entry and try each as JSON, for every stored
    state's subscriber: in ``up`` under batch writes, a sixth of the time the process held
    the GIL (py-spy ``--gil``)."""
    return await parse({**message, "data": []})


def _subscribe(
    broker: RedisBroker,
    applier: Applier,
    outage: Outage,
    *,
    stream: str,
    group: str,
    consumer: str,
    batch: int,
    claim_idle_ms: int,
    linger: float,
) -> None:
    name = applier.projection.name
    previous = [0.0]  # when the last delivery with work to do came

    async def recreate_group() -> None:
        await asyncio.to_thread(recreate_lost_group, applier.redis, stream, group, name)
        await asyncio.to_thread(applier.forget)

    batches = broker.subscriber(
        stream=StreamSub(stream, group=group, consumer=consumer, batch=True, max_records=batch),
        no_reply=True,
        parser=positions_only,
    )

    @batches
    async def on_batch(body: list[Any], msg: RedisBatchStreamMessage) -> None:
        ids = msg.raw_message["message_ids"]
        last = max(position_of(i) for i in ids)
        if not applier.covers(last):  # else an earlier commit read beyond and applied these
            now = time.monotonic()
            flowing = now - previous[0] < 2 * linger  # entries keep coming
            previous[0] = now
            if flowing and len(ids) < batch:
                await asyncio.sleep(linger)
            apply = partial(applier.apply_through, last, beyond=True)
            await until_done(partial(asyncio.to_thread, apply), outage)
        await until_done(msg.ack, outage)

    claims = broker.subscriber(
        stream=StreamSub(stream, group=group, consumer=consumer, min_idle_time=claim_idle_ms),
        no_reply=True,
        include_in_schema=False,
    )

    @claims
    async def on_claimed(body: Any, msg: RedisStreamMessage) -> None:
        apply = partial(applier.apply_through, position_of(msg.raw_message["message_ids"][0]))
        await until_done(partial(asyncio.to_thread, apply), outage)
        await until_done(msg.ack, outage)

    for subscriber in (batches, claims):
        keep_reading(subscriber, outage, recreate_group)


def attach_projectors(
    app: FastStream,
    broker: RedisBroker,
    redis_url: str,
    prefix: str,
    *,
    projections: Mapping[str, Projection] = PROJECTIONS,
    batch: int = 500,
    claim_idle_ms: int = 30_000,
    linger_ms: float = 10.0,
    consumer: str | None = None,
    partitions: Sequence[int] | None = None,
    partition_count: int = 1,
    state_budget: int = STATE_BUDGET_EVENTS,
) -> dict[str, Applier]:
    """Adds the projection subscribers to ``broker`` and their start-up hooks to ``app``: for
    the chosen ``partitions`` of ``partition_count`` (default: all). The workers are keyed by
    stored state, with ``@<partition>`` when there are several partitions."""
    redis = Redis.from_url(redis_url)
    consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
    chosen = list(range(partition_count)) if partitions is None else list(partitions)
    keyed = partition_appliers(
        redis,
        prefix,
        projections=projections,
        partitions=chosen,
        count=partition_count,
        state_budget=state_budget,
    )
    workers = {_label(store, k): applier for (store, k), applier in keyed.items()}
    groups = {
        _label(store, k): (Streams(prefix, k).events, Streams(prefix).projection_group(store))
        for store, k in keyed
    }
    outage = Outage("projections", log)
    for label, applier in workers.items():
        stream, group = groups[label]
        _subscribe(
            broker,
            applier,
            outage,
            stream=stream,
            group=group,
            consumer=consumer,
            batch=batch,
            claim_idle_ms=claim_idle_ms,
            linger=linger_ms / 1000,
        )

    @app.on_startup
    def create_groups() -> None:
        for stream, group in groups.values():
            ensure_group(redis, stream, group)

    async def catch_up_again() -> None:
        """After Redis restarted: its groups and views may have moved back (or be gone)."""
        for label, applier in workers.items():
            stream, group_name = groups[label]
            group = partial(recreate_lost_group, redis, stream, group_name, label)
            await until_done(partial(asyncio.to_thread, group), outage)
            await asyncio.to_thread(applier.forget)
            reached = await until_done(partial(asyncio.to_thread, applier.apply_through), outage)
            log.info("projection=%s caught up to position=%s", label, reached)

    watch = RestartWatch(redis_url, outage, catch_up_again)

    @app.after_startup
    async def catch_up() -> None:
        """Entries already on the stream when a worker starts are applied at once."""
        for label, applier in workers.items():
            reached = await asyncio.to_thread(applier.apply_through)
            log.info("projection=%s caught up to position=%s", label, reached)
        await watch.start()

    @app.on_shutdown
    async def stop_watching() -> None:
        await watch.stop()

    follow_switches(app, workers)
    return workers


def _label(store: str, partition: int | None) -> str:
    return store if partition is None else f"{store}@{partition}"


def follow_switches(app: FastStream, workers: Mapping[str, Applier]) -> None:
    """Checks every ``FOLLOW_SECONDS`` whether a rebuild switched a view to another generation
    and, if so, has its worker go on from there (``Applier.follow_switch``): after the event
    stream is rebuilt, the new generation stands behind what the worker remembers."""
    running: list[asyncio.Task[None]] = []

    async def follow() -> None:
        while True:
            await asyncio.sleep(FOLLOW_SECONDS)
            for applier in workers.values():
                try:
                    await asyncio.to_thread(applier.follow_switch)
                except RedisError:
                    break  # Redis is away: the workers' own reads report it; look again later

    @app.after_startup
    async def start_following() -> None:
        running.append(asyncio.get_running_loop().create_task(follow()))

    @app.on_shutdown
    async def stop_following() -> None:
        for task in running:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        running.clear()


def build_projectors(
    redis_url: str, prefix: str, **options: Any
) -> tuple[FastStream, RedisBroker, dict[str, Applier]]:
    """A FastStream app running only the projection workers."""
    broker = RedisBroker(redis_url, logger=log, log_level=logging.DEBUG)  # not a line per batch
    app = FastStream(broker, logger=log)
    workers = attach_projectors(app, broker, redis_url, prefix, **options)
    return app, broker, workers
