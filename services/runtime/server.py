"""Serving: uvicorn with the API and, beside it, the relay, the intake and the projection
workers, in one process (``talkstream up``): FastStream subscribers on one Redis, pollers on
Redis Cluster."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import uvicorn
from fastapi import FastAPI
from faststream import FastStream

from projections.live.worker import attach_projectors
from projections.views import PROJECTIONS
from services.api.app import create_app
from services.api.context import ApiContext
from services.api.protocol import ConnectionLimits, bounded_protocol
from services.hooks.deliverer import Deliverer
from services.intake.app import build_intake
from services.intake.poller import build_poller
from services.recorder.ledger import LogWriter
from services.relay.lease import lease_thread
from services.relay.relay import Relay
from services.runtime import tracing
from services.runtime.bootstrap import build_api_context, build_application
from services.runtime.exceptions import RuntimeProblem
from services.runtime.ledger import build_log_writer, writer_target
from services.runtime.page import with_page
from services.runtime.redis_server import redis_for
from services.runtime.runner import (
    build_deliverer,
    build_lease,
    build_pollers,
    build_relay,
    projector_options,
    settle_collector,
)
from services.settings import Settings
from services.wire.connect import is_cluster_url

log = logging.getLogger("talkstream.api")
GRACE_SECONDS = 5  # open subscriptions (SSE) do not end by themselves: cut them after this
STOP_SECONDS = 10  # what each worker may take to stop before the process goes on without it


async def _within(stopping: Awaitable[None], seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(stopping, seconds)
    except TimeoutError:
        log.warning("%s did not stop within %s s; going on without them", what, seconds)


async def _joined(thread: threading.Thread, seconds: float) -> None:
    await asyncio.to_thread(thread.join, seconds)
    if thread.is_alive():
        log.warning("the %s thread did not stop within %s s", thread.name, seconds)


class Polling(Protocol):
    """A worker that runs in a thread of its own until its stop event is set."""

    def run(self, stop: threading.Event) -> None: ...


@dataclass
class Workers:
    """What ``talkstream up`` runs beside the API: the relay thread, the log writer, the
    webhook deliverer, and the intake and projection workers: the FastStream app (``streams``)
    on one Redis, poller threads (``pollers``) on Redis Cluster."""

    relay: Relay
    streams: FastStream | None
    deliverer: Deliverer
    log_writer: LogWriter | None = None
    pollers: dict[str, Polling] = field(default_factory=dict)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stop = threading.Event()
        keeper = lease_thread(self.relay.lease, stop) if self.relay.lease is not None else None
        thread = threading.Thread(target=self.relay.run, args=(stop,), name="relay", daemon=True)
        thread.start()
        writer, wake_writer = self._start_log_writer(stop)
        hooks = self._thread("hooks", self.deliverer.run, stop)
        polling = [self._thread(name, p.run, stop) for name, p in self.pollers.items()]
        if self.streams is not None:
            await self.streams.start()
        log.info("workers started: %s", ", ".join(self._parts()))
        try:
            yield
        finally:
            if self.streams is not None:
                await _within(self.streams.stop(), STOP_SECONDS, "the intake and projections")
            stop.set()
            self.relay.notify()
            wake_writer()
            threads = [t for t in (thread, writer, keeper, *polling) if t is not None]
            bounds: list[tuple[threading.Thread, float]] = [(t, STOP_SECONDS) for t in threads]
            bounds.append((hooks, STOP_SECONDS + self.deliverer.policy.timeout))
            # each gets its own bound, all at once: a shutdown never waits for their sum
            await asyncio.gather(*(_joined(t, seconds) for t, seconds in bounds))
            self.deliverer.client.close()
            log.info("workers stopped")

    @staticmethod
    def _thread(
        name: str, target: Callable[[threading.Event], None], stop: threading.Event
    ) -> threading.Thread:
        thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
        thread.start()
        return thread

    def _parts(self) -> list[str]:
        parts = ["relay", *(["log writer"] if self.log_writer is not None else [])]
        parts += ["intake", "projections"] if self.streams is not None else list(self.pollers)
        return [*parts, "webhooks"]

    def _start_log_writer(
        self, stop: threading.Event
    ) -> tuple[threading.Thread | None, Callable[[], None]]:
        """The writer's thread (running while the relay holds the lease), and its wake-up."""
        if self.log_writer is None:
            return None, lambda: None
        run, wake = writer_target(self.log_writer, self.relay.lease)
        thread = threading.Thread(target=run, args=(stop,), name="log-writer", daemon=True)
        thread.start()
        return thread, wake


def build_app(ctx: ApiContext, workers: Workers | None) -> FastAPI:
    """The API and the page, with ``workers`` started and stopped by its lifespan when
    given."""
    app = create_app(ctx, alongside=workers.running if workers is not None else None)
    return with_page(app, ctx)


def workers_for(ctx: ApiContext, redis_url: str) -> Workers:
    lease = build_lease(ctx.settings, redis_url)
    relay = build_relay(ctx.settings, ctx.app, redis_url, lease)
    ctx.relay_lease_held = lease.held
    writer = build_log_writer(ctx.settings, ctx.app, redis_url)
    deliverer = build_deliverer(ctx.settings, redis_url)
    if is_cluster_url(redis_url):
        pollers: dict[str, Polling] = {
            "intake": build_poller(ctx.settings, ctx.app, redis_url),
            "projections": build_pollers(ctx.settings, redis_url, PROJECTIONS, None),
        }
        return Workers(relay, None, deliverer, writer, pollers)
    intake, broker = build_intake(ctx.settings, ctx.app, redis_url)
    attach_projectors(
        intake, broker, redis_url, ctx.settings.prefix, **projector_options(ctx.settings)
    )
    return Workers(relay=relay, streams=intake, deliverer=deliverer, log_writer=writer)


def _check_port_free(settings: Settings) -> None:
    """Fails before anything starts when the address is taken (uvicorn would find out only
    after the workers and Redis had started)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as e:
            how = (
                "TALKSTREAM_PORT=N make demo" if settings.via_make else "--port or TALKSTREAM_PORT"
            )
            raise RuntimeProblem(
                "address_in_use",
                f"cannot listen on {settings.host}:{settings.port} ({e.strerror}); "
                f"choose another with {how}",
            ) from None


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn with the connection bounds of ``settings`` (h11, with the deadlines uvicorn
    lacks: see ``services.api.protocol``)."""
    limits = ConnectionLimits(
        max_connections=settings.api_max_connections,
        header_timeout=settings.api_header_timeout,
        drain_timeout=settings.api_body_timeout,
        send_timeout=settings.api_send_timeout,
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=bounded_protocol(limits),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=settings.api_keep_alive_timeout,  # type: ignore[arg-type]
        timeout_graceful_shutdown=GRACE_SECONDS,
        backlog=max(2048, settings.api_max_connections),
    )


def raise_open_files_limit() -> None:
    """Lifts the soft limit on open files to the hard one: each connection is a descriptor,
    and the usual soft limit (1024) is below the connection and subscriber caps."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft == wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as e:
        log.warning("open files stay limited to %s (raising to %s failed: %s)", soft, wanted, e)


def _quiet_after_shutdown() -> None:
    """uvicorn handles SIGINT/SIGTERM itself (a graceful shutdown), then raises the signal
    again for the handler it found; a no-op handler lets the shutdown end with exit 0 and the
    embedded Redis stopped, instead of a KeyboardInterrupt or a kill."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: None)


def serve(
    settings: Settings,
    *,
    before: Callable[[ApiContext], None] | None = None,
    with_workers: bool = True,
) -> None:
    """Runs the API until Ctrl-C, with the relay, intake and projection workers unless
    ``with_workers`` is off (a scale-out API instance); ``before`` runs once the store and
    Redis are ready and before the server starts (the demo loads and prints the scenario)."""
    _check_port_free(settings)
    provider = tracing.configure(settings, "talkstream-api")
    with redis_for(settings) as url:
        app = build_application(settings)
        try:
            ctx = build_api_context(settings, url, app)
            workers = workers_for(ctx, url) if with_workers else None
            if before is not None:
                before(ctx)
            log.info("serving http://%s:%s redis=%s", settings.host, settings.port, url)
            config = uvicorn_config(build_app(ctx, workers), settings, settings.host, settings.port)
            raise_open_files_limit()
            _quiet_after_shutdown()
            settle_collector()
            uvicorn.Server(config).run()
        finally:
            app.close()
            tracing.shutdown(provider)
        log.info("stopped cleanly")
