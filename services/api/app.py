"""The FastAPI application: routers, error answers, limits, metrics and the reader of the
changes stream behind every SSE subscriber, started and stopped with the app; whatever the
composition runs alongside (the relay and stream workers of ``talkstream up``) is started and
stopped by the same lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from importlib.metadata import version

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api import errors, openapi
from services.api.auth import no_unknown_query
from services.api.cached import CachedReads
from services.api.context import ApiContext
from services.api.degraded import Degraded
from services.api.limits import BodyLimit
from services.api.protocol import SHUTDOWN_HOOK
from services.api.routes import audit, export, hooks, ledger, ops, reads, subscribe, writes
from services.api.tracing import telemetry

log = logging.getLogger("talkstream.api")


Alongside = Callable[[], AbstractAsyncContextManager[object]]


def create_app(ctx: ApiContext, *, alongside: Alongside | None = None) -> FastAPI:
    """The API on ``ctx``; ``alongside`` is entered after the app's own start-up and left
    before its shutdown."""
    app = FastAPI(
        title="talkstream",
        version=version("talkstream"),
        description="Record negotiation developments once; read them back any way.",
        lifespan=_lifespan(ctx, alongside),
        dependencies=[Depends(no_unknown_query)],
        docs_url=None,  # served by openapi.install_docs, without a CDN
        redoc_url=None,
        telemetry=telemetry(),
    )
    app.state.ctx = ctx
    for module in (writes, reads, export, audit, ledger, subscribe, hooks, ops):
        app.include_router(module.router)
    errors.install(app)
    openapi.install(app)
    openapi.install_docs(app)
    app.add_middleware(
        BodyLimit, max_bytes=ctx.settings.api_max_body, timeout=ctx.settings.api_body_timeout
    )
    app.add_middleware(Degraded, watch=ctx.divergence)
    app.add_middleware(RequestMetrics, ctx=ctx)
    app.add_middleware(CachedReads, ctx=ctx)  # outermost: the common read skips the rest
    return app


def _lifespan(ctx: ApiContext, alongside: Alongside | None):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        await ctx.feed.start()
        try:
            async with alongside() if alongside is not None else nullcontext():
                yield {SHUTDOWN_HOOK: ctx.feed.fanout.close_all}
        finally:
            await ctx.feed.stop()

    return lifespan


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
