"""Long-running processes besides the API server: ``relay``, ``intake``, ``project`` and
``deliver`` (webhooks), each beating its heartbeat while it runs (``talkstream health``)
(``up``, which serves the API with all of them, is services/runtime/server.py)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import httpx
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from projections.live.poller import Poller
from projections.live.worker import build_projectors
from projections.views import Projection
from services.hooks.deliverer import Deliverer, Policy
from services.intake.app import build_intake
from services.intake.poller import build_poller
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.relay.lease import Lease, lease_kept
from services.relay.relay import Relay
from services.runtime import tracing
from services.runtime.bootstrap import build_application
from services.runtime.heartbeat import beating
from services.runtime.ledger import build_log_writer, log_writer_running
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.connect import connect, is_cluster_url
from services.wire.hooks import Hooks
from services.wire.streams import Streams

log = logging.getLogger("talkstream.runner")


def build_lease(settings: Settings, redis_url: str) -> Lease:
    """This process's side of the relay lease (one relay of a deployment publishes)."""
    streams = Streams(settings.prefix)
    return Lease(
        connect(redis_url),
        key=streams.relay_lease,
        counter=streams.relay_fence_counter,
        lease_ms=settings.relay_lease_ms,
    )


def build_relay(settings: Settings, app: Negotiations, redis_url: str, lease: Lease) -> Relay:
    """A relay that publishes while it holds ``lease`` (kept by ``lease_kept``)."""
    relay = partitioned.build(
        app,
        connect(redis_url),
        prefix=settings.prefix,
        partitions=settings.partitions,
        batch=settings.relay_batch,
        poll_interval=settings.relay_poll_interval,
        lease=lease,
    )
    app.after_save.append(relay.notify)
    return relay


def build_deliverer(settings: Settings, redis_url: str) -> Deliverer:
    """The webhook deliverer on ``redis_url``, with the settings' timeout and retry policy."""
    policy = Policy(
        timeout=settings.hooks_timeout,
        retry_for=settings.hooks_retry_for,
        backoff_initial=settings.hooks_backoff_initial,
        backoff_max=settings.hooks_backoff_max,
        poll_interval=settings.hooks_poll_interval,
        allow_private=settings.hooks_allow_private,
    )
    client = httpx.Client(timeout=settings.hooks_timeout, follow_redirects=False)
    hooks = Hooks(connect(redis_url), settings.prefix, partitions=settings.partitions)
    return Deliverer(hooks, client, policy)


def run_deliverer(settings: Settings) -> None:
    """The webhook deliverer alone, until SIGINT/SIGTERM (on Redis Cluster it follows every
    partition's changes stream)."""
    with redis_for(settings) as url:
        deliverer = build_deliverer(settings, url)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        settle_collector()
        try:
            with beating(settings, url, "deliver"):
                deliverer.run(stop)
        finally:
            deliverer.client.close()


def settle_collector() -> None:
    """Moves every object made so far (modules, the application, its clients and caches)
    out of the cyclic garbage collector's reach (``gc.freeze``), once a long-running process
    is built and before it serves or follows anything: a full collection then walks only what
    the process made since. In ``up`` every request in flight waits out a collection's pause
    (measured after ``bench http``'s writes: 120 to 300 ms a pass before, 4 to 90 ms after);
    the projection workers applied 13 % more events a second with it (``bench project``'s
    appliers, 40,000 entries, three runs each). What was made so far lives as long as the
    process, so nothing is lost that the collector would have freed."""
    gc.collect()
    gc.freeze()


def projector_options(settings: Settings) -> dict[str, Any]:
    return {
        "batch": settings.projection_batch,
        "claim_idle_ms": settings.projection_claim_idle_ms,
        "partition_count": settings.partitions,
        "state_budget": settings.state_cache_events,
    }


def run_relay(settings: Settings) -> None:
    """The relay alone, until SIGINT/SIGTERM."""
    provider = tracing.configure(settings, "talkstream-relay")
    with redis_for(settings) as url:
        app = build_application(settings)
        lease = build_lease(settings, url)
        relay = build_relay(settings, app, url, lease)
        writer = build_log_writer(settings, app, url)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()
            relay.notify()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        log.info("relay redis=%s stream=%s holder=%s", url, relay.stream, lease.holder)
        settle_collector()
        try:
            with (
                lease_kept(lease),
                log_writer_running(writer, lease),
                beating(settings, url, "relay"),
            ):
                relay.run(stop)
        finally:
            app.close()
            tracing.shutdown(provider)


def run_projectors(
    settings: Settings,
    projections: Mapping[str, Projection],
    partitions: Sequence[int] | None = None,
) -> None:
    """The projection workers (all, or some; of all partitions, or some) alone, until
    SIGINT/SIGTERM."""
    provider = tracing.configure(settings, "talkstream-projections")
    with redis_for(settings) as url:
        wait_for_redis(url, "projections")
        if is_cluster_url(url):
            try:
                run_pollers(settings, url, projections, partitions)
            finally:
                tracing.shutdown(provider)
            return
        app, _, _ = build_projectors(
            url,
            settings.prefix,
            projections=projections,
            partitions=partitions,
            **projector_options(settings),
        )
        settle_collector()
        try:
            with beating(settings, url, "project"):
                asyncio.run(app.run())
        finally:
            tracing.shutdown(provider)


def build_pollers(
    settings: Settings,
    url: str,
    projections: Mapping[str, Projection],
    partitions: Sequence[int] | None,
) -> Poller:
    """The projection workers without FastStream (all partitions, or ``partitions``)."""
    chosen = list(range(settings.partitions)) if partitions is None else list(partitions)
    return Poller(
        connect(url),
        settings.prefix,
        projections=projections,
        partitions=chosen,
        count=settings.partitions,
    )


def run_pollers(
    settings: Settings,
    url: str,
    projections: Mapping[str, Projection],
    partitions: Sequence[int] | None,
) -> None:
    """The projection workers on Redis Cluster (without FastStream), until SIGINT/SIGTERM."""
    poller = build_pollers(settings, url, projections, partitions)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("projections on Redis Cluster: %s", ", ".join(poller.workers))
    settle_collector()
    with beating(settings, url, "project"):
        poller.run(stop)


def wait_for_redis(url: str, role: str) -> None:
    """Returns once Redis answers: a process started before its Redis (a deployment's first
    start, a Redis restarting) waits for it, with one line when it starts waiting and one when
    Redis answers, instead of failing at its first command."""
    client = connect(url, socket_connect_timeout=2, socket_timeout=2)
    waited = False
    try:
        while True:
            try:
                client.ping()
                break
            except (RedisConnectionError, RedisTimeoutError) as e:
                if not waited:
                    log.warning("%s waiting for Redis at %s (%s)", role, url, e)
                    waited = True
                time.sleep(1.0)
        if waited:
            log.info("%s: Redis at %s answers", role, url)
    finally:
        client.close()


def run_intake(settings: Settings) -> None:
    """The intake consumer alone, until SIGINT/SIGTERM: the FastStream app on one Redis, the
    poller on Redis Cluster."""
    with redis_for(settings) as url:
        wait_for_redis(url, "intake")
        app = build_application(settings)
        try:
            with beating(settings, url, "intake"):
                if is_cluster_url(url):
                    run_intake_poller(settings, app, url)
                else:
                    intake, _ = build_intake(settings, app, url)
                    settle_collector()
                    asyncio.run(intake.run())
        finally:
            app.close()


def run_intake_poller(settings: Settings, app: Negotiations, url: str) -> None:
    """The intake on Redis Cluster (without FastStream), until SIGINT/SIGTERM."""
    poller = build_poller(settings, app, url)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info(
        "intake on Redis Cluster: stream=%s consumer=%s", poller.streams.intake, poller.consumer
    )
    settle_collector()
    poller.run(stop)
