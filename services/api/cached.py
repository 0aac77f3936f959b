"""The common read answered ahead of the framework: ``GET /v1/negotiations/{id}`` (and its
``/timeline``, ``/positions`` and ``/commitments``) with no query and no body, while the
rendering kept between requests (``services.api.rendered``) is current for the view's write
stamp. Such a read costs one read of one Redis key (``P:@served``, on the event loop), the
caller's key checked and a token taken from its bucket as the route would, and the
rendering's JSON, made once, in the envelope the route answers (byte for byte the same).

Anything else goes on to the application unchanged: another route, a query (``as_of``,
``min_position``, filters, an unknown parameter), a body, a caller the route would refuse, a
rendering not yet confirmed at the current stamp (the route reads the head and confirms it),
Redis away, the degraded header due, or tracing on (the route's spans)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from pydantic import TypeAdapter
from redis.exceptions import RedisError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.auth import admit, client_name, principal_for
from services.api.context import ApiContext
from services.api.exceptions import ApiError
from services.api.keys import Permission, Principal
from services.api.models import ViewAnswer
from services.api.rendered import Rendering
from services.api.routes.writes import NEGOTIATION_ID
from services.wire import tracing

VIEW_PATHS = {
    "": "negotiation",
    "/timeline": "timeline",
    "/positions": "positions",
    "/commitments": "commitments",
}
PATH = re.compile(
    "/v1/negotiations/("
    + NEGOTIATION_ID.strip("^$")
    + ")("
    + "|".join(re.escape(suffix) for suffix in VIEW_PATHS)
    + ")"
)
ROUTE = "/v1/negotiations/{negotiation_id}"
JSON = "application/json"
ANSWER: TypeAdapter[ViewAnswer] = TypeAdapter(ViewAnswer)


def answer_json(negotiation_id: str, position: int, view: bytes) -> bytes:
    """The live ``ViewAnswer`` as the route answers it (FastAPI dumps its response model
    with ``by_alias``), with the view's JSON set in as its last field."""
    envelope = ViewAnswer(
        negotiation_id=negotiation_id, position=position, source="live", view=None
    )
    head = ANSWER.dump_json(envelope, by_alias=True)
    return head[: -len(b"null}")] + view + b"}"


class CachedReads:
    """ASGI middleware answering the common read from the rendering cache; see the module."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = PATH.fullmatch(scope["path"])
            if match is not None:
                started = time.perf_counter()
                body = await self._answer(scope, match[1], VIEW_PATHS[match[2]])
                if body is not None:
                    await Response(body, media_type=JSON)(scope, receive, send)
                    elapsed = time.perf_counter() - started
                    self.ctx.metrics.observe("GET", ROUTE + match[2], 200, elapsed)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, negotiation_id: str, projection: str) -> bytes | None:
        """The answer's bytes, or None: the application answers."""
        principal = self._reader(scope)
        if principal is None or await self.ctx.divergence.current() is not None:
            return None
        found = await self._current(negotiation_id, projection)
        if found is None:
            return None
        position, rendering = found
        client = scope.get("client")
        try:
            admit(self.ctx, principal, Permission.read, client_name(client[0] if client else None))
        except ApiError:
            return None  # refused (rate): the route refuses it again, without a token taken
        return answer_json(negotiation_id, position, rendering.encoded)

    def _reader(self, scope: Scope) -> Principal | None:
        """The caller, if the route would let them read (its token not yet taken)."""
        if tracing.enabled() or _has_body(scope):
            return None
        try:
            principal = principal_for(self.ctx, _header(scope, b"authorization"))
        except ApiError:
            return None
        return principal if principal.may(Permission.read) else None

    async def _current(self, negotiation_id: str, projection: str) -> tuple[int, Rendering] | None:
        """The tracked position and the rendering, if current at the view's write stamp."""
        ctx = self.ctx
        try:
            served = await ctx.views(projection).served_async(ctx.async_redis)
        except RedisError:
            return None
        if served is None:
            return None
        key = (projection, served.gen, negotiation_id)
        rendering = ctx.rendered.current_rendering(key, served.stamp, datetime.now(UTC).date())
        return None if rendering is None else (served.tracked, rendering)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return _header(scope, b"transfer-encoding") is not None or length not in (None, "0")
