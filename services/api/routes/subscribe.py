"""``GET /v1/subscribe``: server-sent events of view changes, read from ``<prefix>:changes``
by the process's one reader and fanned out in memory (``services.api.fanout``). Each event's
id is the change entry's ID, so a client resumes with ``Last-Event-ID``; a comment line goes
out as a heartbeat when nothing reached the subscriber for ``sse_heartbeat`` seconds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.types import Receive, Scope, Send

from events import cloudevent
from projections.views import PROJECTIONS
from services.api.auth import Reader, ctx_of
from services.api.context import ApiContext
from services.api.exceptions import ChangesUnavailable, InvalidRequest, NotOnCluster
from services.api.fanout import (
    Change,
    EntryId,
    Interest,
    entry_id_text,
    event_stream,
    parse_entry_id,
)
from services.api.openapi import error_responses
from services.api.routes.writes import NEGOTIATION_ID
from services.wire.connect import is_cluster

router = APIRouter(prefix="/v1", tags=["subscribe"])
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
READY_WAIT = 5.0  # seconds a subscriber waits for a reader that has not reached Redis yet


@router.get(
    "/subscribe",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: change`, `id:` the change's entry ID, "
            "`data:` {negotiation_id, projection, position}.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422, 429, 503),
    },
)
async def subscribe(  # noqa: PLR0917 (FastAPI parameters)
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
    format: Annotated[
        Literal["sse", "cloudevents"],
        Query(description="cloudevents: each `data:` is a structured-mode CloudEvent."),
    ] = "sse",
) -> StreamingResponse:
    """Follow view changes; reconnect with Last-Event-ID to miss none."""
    if last_event_id is not None and not ENTRY_ID.match(last_event_id):
        raise InvalidRequest(
            "invalid_header", "Last-Event-ID: expected a change entry ID such as 1700000000000-0"
        )
    ctx = ctx_of(request)
    if is_cluster(ctx.redis):
        raise NotOnCluster(
            "changes_not_on_cluster",
            "the change feed is not served on Redis Cluster: each partition announces its "
            "changes in its own stream (README, Partitions and Redis Cluster)",
        )
    feed = ctx.feed
    try:
        await feed.until_ready(READY_WAIT)
        start = None if last_event_id is None else await _resume_point(ctx, last_event_id)
        sub = feed.fanout.join(Interest(negotiation, projection), principal.name)
    except ChangesUnavailable as e:
        raise RedisConnectionError(str(e)) from None
    frames = event_stream(
        feed.fanout,
        sub,
        sub.joined_at if start is None else start,
        feed.read_page,
        heartbeat=ctx.settings.sse_heartbeat,
        render=cloudevent_frame if format == "cloudevents" else None,
    )
    return EventStreamResponse(frames, on_close=lambda: feed.fanout.leave(sub))


class EventStreamResponse(StreamingResponse):
    """A stream that runs ``on_close`` however it ends, even if the client left before the
    first frame (then the frames' own cleanup never runs)."""

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[str], on_close: Callable[[], None]) -> None:
        super().__init__(frames, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


def cloudevent_frame(change: Change) -> str:
    """A change as an SSE event whose data is its structured-mode CloudEvent; the id stays
    the change entry's, so Last-Event-ID resumes as usual."""
    data = {"negotiation_id": change.negotiation_id, "projection": change.projection}
    event = cloudevent.of_change(change.id, {**data, "position": change.position})
    body = cloudevent.structured(event).decode()
    return f"id: {change.id}\nevent: cloudevent\ndata: {body}\n\n"


async def _resume_point(ctx: ApiContext, last_event_id: str) -> EntryId:
    """Where a resuming subscriber starts; 422 for an ID the stream has not reached."""
    start = parse_entry_id(last_event_id)
    known = ctx.feed.fanout.position
    if known is not None and start <= known:
        return start
    top = await ctx.feed.top()
    if start > top:
        raise InvalidRequest(
            "last_event_id_beyond_end",
            f"Last-Event-ID: {last_event_id} is beyond the last change "
            f"({entry_id_text(top)}); resume from an ID this stream sent",
            details={"last_event_id": last_event_id, "last_change": entry_id_text(top)},
        )
    return start
