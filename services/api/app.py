"""The FastAPI application: routers, error answers, limits, metrics, the reader of the
changes stream behind every SSE subscriber, and (when serving the whole system) the relay and
stream workers, all started and stopped with the app."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import version

from fastapi import Depends, FastAPI
from faststream import FastStream
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api import errors, openapi
from services.api.auth import no_unknown_query
from services.api.context import ApiContext
from services.api.degraded import Degraded
from services.api.limits import BodyLimit
from services.api.protocol import SHUTDOWN_HOOK
from services.api.routes import audit, ops, reads, subscribe, writes
from services.relay.relay import Relay

log = logging.getLogger("talkstream.api")


@dataclass
class Workers:
    """What ``talkstream up`` runs beside the API: the relay thread and the FastStream app
    (intake and projection subscribers)."""

    relay: Relay
    streams: FastStream


def create_app(ctx: ApiContext, workers: Workers | None = None) -> FastAPI:
    app = FastAPI(
        title="talkstream",
        version=version("talkstream"),
        description="Record negotiation developments once; read them back any way.",
        lifespan=_lifespan(ctx, workers),
        dependencies=[Depends(no_unknown_query)],
        docs_url=None,  # served by openapi.install_docs, without a CDN
        redoc_url=None,
    )
    app.state.ctx = ctx
    for module in (writes, reads, audit, subscribe, ops):
        app.include_router(module.router)
    errors.install(app)
    openapi.install(app)
    openapi.install_docs(app)
    app.add_middleware(
        BodyLimit, max_bytes=ctx.settings.api_max_body, timeout=ctx.settings.api_body_timeout
    )
    app.add_middleware(Degraded, watch=ctx.divergence)
    app.add_middleware(RequestMetrics, ctx=ctx)
    return app


def _lifespan(ctx: ApiContext, workers: Workers | None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        await ctx.feed.start()
        try:
            if workers is None:
                yield {SHUTDOWN_HOOK: ctx.feed.fanout.close_all}
            else:
                async with _running(workers):
                    yield {SHUTDOWN_HOOK: ctx.feed.fanout.close_all}
        finally:
            await ctx.feed.stop()

    return lifespan


@asynccontextmanager
async def _running(workers: Workers) -> AsyncIterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=workers.relay.run, args=(stop,), name="relay", daemon=True)
    thread.start()
    await workers.streams.start()
    log.info("workers started: relay, intake, projections")
    try:
        yield
    finally:
        await workers.streams.stop()
        stop.set()
        workers.relay.notify()
        await asyncio.to_thread(thread.join, 10)
        if thread.is_alive():
            log.warning("the relay did not stop within 10 s")
        log.info("workers stopped")


class RequestMetrics:
    """Counts each answered request by route template and status, and times it."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.ctx.metrics.observe(scope["method"], route, status, elapsed)
