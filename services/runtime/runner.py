"""Long-running processes besides the API server: ``relay``, ``intake``, ``project`` and
``deliver`` (webhooks)
(``up``, which serves the API with all of them, is services/runtime/server.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

import httpx

from projections.live.poller import Poller
from projections.live.worker import build_projectors
from projections.views import Projection
from services.hooks.deliverer import Deliverer, Policy
from services.intake.app import build_intake
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.relay.relay import Relay
from services.runtime import tracing
from services.runtime.bootstrap import build_application
from services.runtime.exceptions import NeedsPlainRedis
from services.runtime.ledger import build_log_writer, log_writer_running
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.connect import connect, is_cluster_url
from services.wire.hooks import Hooks

log = logging.getLogger("talkstream.runner")


def build_relay(settings: Settings, app: Negotiations, redis_url: str) -> Relay:
    relay = partitioned.build(
        app,
        connect(redis_url),
        prefix=settings.prefix,
        partitions=settings.partitions,
        batch=settings.relay_batch,
        poll_interval=settings.relay_poll_interval,
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
    return Deliverer(Hooks(connect(redis_url), settings.prefix), client, policy)


def run_deliverer(settings: Settings) -> None:
    """The webhook deliverer alone, until SIGINT/SIGTERM."""
    with redis_for(settings) as url:
        if is_cluster_url(url):
            raise NeedsPlainRedis("webhook delivery", "follows the one changes stream")
        deliverer = build_deliverer(settings, url)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            deliverer.run(stop)
        finally:
            deliverer.client.close()


def projector_options(settings: Settings) -> dict[str, Any]:
    return {
        "batch": settings.projection_batch,
        "claim_idle_ms": settings.projection_claim_idle_ms,
        "partition_count": settings.partitions,
    }


def run_relay(settings: Settings) -> None:
    """The relay alone, until SIGINT/SIGTERM."""
    provider = tracing.configure(settings, "talkstream-relay")
    with redis_for(settings) as url:
        app = build_application(settings)
        relay = build_relay(settings, app, url)
        writer = build_log_writer(settings, app, url)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()
            relay.notify()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        log.info("relay redis=%s stream=%s", url, relay.stream)
        try:
            with log_writer_running(writer):
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
        try:
            asyncio.run(app.run())
        finally:
            tracing.shutdown(provider)


def run_pollers(
    settings: Settings,
    url: str,
    projections: Mapping[str, Projection],
    partitions: Sequence[int] | None,
) -> None:
    """The projection workers on Redis Cluster (without FastStream), until SIGINT/SIGTERM."""
    chosen = list(range(settings.partitions)) if partitions is None else list(partitions)
    poller = Poller(
        connect(url),
        settings.prefix,
        projections=projections,
        partitions=chosen,
        count=settings.partitions,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("projections on Redis Cluster: %s", ", ".join(poller.workers))
    poller.run(stop)


def run_intake(settings: Settings) -> None:
    """The intake consumer alone, until SIGINT/SIGTERM."""
    with redis_for(settings) as url:
        if is_cluster_url(url):
            raise NeedsPlainRedis("the intake")
        app = build_application(settings)
        intake, _ = build_intake(settings, app, url)
        try:
            asyncio.run(intake.run())
        finally:
            app.close()
