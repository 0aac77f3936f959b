"""``GET /v1/subscribe``: server-sent events of view changes, read from ``<prefix>:changes``.
Each event's id is the change entry's ID, so a client resumes with ``Last-Event-ID``; a comment
line goes out as a heartbeat when nothing changed for ``sse_heartbeat`` seconds."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from projections.views import PROJECTIONS
from services.api.auth import ctx_of, requires
from services.api.context import ApiContext
from services.api.exceptions import InvalidRequest
from services.api.keys import Permission, Principal
from services.api.openapi import error_responses
from services.api.routes.writes import NEGOTIATION_ID

router = APIRouter(prefix="/v1", tags=["subscribe"])
Reader = Annotated[Principal, Depends(requires(Permission.read))]
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
READ_COUNT = 100


@router.get(
    "/subscribe",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: change`, `id:` the change's entry ID, "
            "`data:` {negotiation_id, projection, position}.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422, 429),
    },
)
async def subscribe(
    request: Request,
    principal: Reader,
    negotiation: Annotated[
        str | None, Query(pattern=NEGOTIATION_ID, description="Only this negotiation.")
    ] = None,
    projection: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(PROJECTIONS) + ")$", description="Only this view."),
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=45)] = None,
) -> StreamingResponse:
    """Follow view changes; reconnect with Last-Event-ID to miss none."""
    if last_event_id is not None and not ENTRY_ID.match(last_event_id):
        raise InvalidRequest(
            "invalid_header", "Last-Event-ID: expected a change entry ID such as 1700000000000-0"
        )
    ctx = ctx_of(request)
    start = last_event_id or await _top(ctx)
    events = _events(request, ctx, start, negotiation, projection)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _top(ctx: ApiContext) -> str:
    last: Any = await ctx.async_redis.xrevrange(ctx.streams.changes, count=1)
    return last[0][0].decode() if last else "0-0"


async def _events(
    request: Request,
    ctx: ApiContext,
    start: str,
    negotiation: str | None,
    projection: str | None,
) -> AsyncIterator[str]:
    yield f"retry: 2000\n: following {ctx.streams.changes} after {start}\n\n"
    block_ms = int(ctx.settings.sse_heartbeat * 1000)
    last = start
    while not await request.is_disconnected():
        reply: Any = await ctx.async_redis.xread(
            {ctx.streams.changes: last}, count=READ_COUNT, block=block_ms
        )
        if not reply:
            yield ": heartbeat\n\n"
            continue
        for raw_id, raw in reply[0][1]:
            last = raw_id.decode()
            change = {k.decode(): v.decode() for k, v in raw.items()}
            if _wanted(change, negotiation, projection):
                yield _frame(last, change)


def _wanted(change: dict[str, str], negotiation: str | None, projection: str | None) -> bool:
    return (negotiation is None or change.get("negotiation_id") == negotiation) and (
        projection is None or change.get("projection") == projection
    )


def _frame(entry_id: str, change: dict[str, str]) -> str:
    data = {**change, "position": int(change.get("position", "0"))}
    return f"id: {entry_id}\nevent: change\ndata: {json.dumps(data)}\n\n"
