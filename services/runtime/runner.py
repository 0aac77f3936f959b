"""Long-running processes besides the API server: ``relay``, ``intake``, ``project`` and
``deliver`` (webhooks)
(``up``, which serves the API with all of them, is services/runtime/server.py)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

import httpx
from redis import Redis

from projections.live.worker import build_projectors
from projections.views import Projection
from services.hooks.deliverer import Deliverer, Policy
from services.intake.app import build_intake
from services.recorder.application import Negotiations
from services.relay.lease import Lease, lease_kept
from services.relay.relay import Relay
from services.runtime import tracing
from services.runtime.bootstrap import build_application
from services.runtime.ledger import build_log_writer, log_writer_running
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.hooks import Hooks
from services.wire.streams import Streams

log = logging.getLogger("talkstream.runner")


def build_lease(settings: Settings, redis_url: str) -> Lease:
    """This process's side of the relay lease (one relay of a deployment publishes)."""
    streams = Streams(settings.prefix)
    return Lease(
        Redis.from_url(redis_url),
        key=streams.relay_lease,
        counter=streams.relay_fence_counter,
        lease_ms=settings.relay_lease_ms,
    )


def build_relay(settings: Settings, app: Negotiations, redis_url: str) -> Relay:
    """A relay that publishes while it holds the lease (kept by ``lease_kept``)."""
    streams = Streams(settings.prefix)
    relay = Relay(
        app,
        Redis.from_url(redis_url),
        stream=streams.events,
        batch=settings.relay_batch,
        poll_interval=settings.relay_poll_interval,
        diverged_key=streams.events_diverged,
        lease=build_lease(settings, redis_url),
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
    return Deliverer(Hooks(Redis.from_url(redis_url), settings.prefix), client, policy)


def run_deliverer(settings: Settings) -> None:
    """The webhook deliverer alone, until SIGINT/SIGTERM."""
    with redis_for(settings) as url:
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
        lease = relay.lease
        assert lease is not None  # build_relay gives it one
        log.info("relay redis=%s stream=%s holder=%s", url, relay.stream, lease.holder)
        try:
            with lease_kept(lease), log_writer_running(writer, lease):
                relay.run(stop)
        finally:
            app.close()
            tracing.shutdown(provider)


def run_projectors(settings: Settings, projections: Mapping[str, Projection]) -> None:
    """The projection workers (all, or some) alone, until SIGINT/SIGTERM."""
    provider = tracing.configure(settings, "talkstream-projections")
    with redis_for(settings) as url:
        app, _, _ = build_projectors(
            url, settings.prefix, projections=projections, **projector_options(settings)
        )
        try:
            asyncio.run(app.run())
        finally:
            tracing.shutdown(provider)


def run_intake(settings: Settings) -> None:
    """The intake consumer alone, until SIGINT/SIGTERM."""
    with redis_for(settings) as url:
        app = build_application(settings)
        intake, _ = build_intake(settings, app, url)
        try:
            asyncio.run(intake.run())
        finally:
            app.close()
