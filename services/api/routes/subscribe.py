"""``GET /v1/subscribe``: server-sent events of view changes, read from ``<prefix>:changes``
(on Redis Cluster, from every partition's changes stream) by the process's one reader and
fanned out in memory (``services.api.fanout``). Each event's id is the change entry's ID (on
Cluster, the vector of the partitions' last entry IDs, services/wire/feed.py), so a client
resumes with ``Last-Event-ID``; a comment line goes out as a heartbeat when nothing reached
the subscriber for ``sse_heartbeat`` seconds."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from starlette.types import Receive, Scope, Send

from events import cloudevent
from projections.views import PROJECTIONS
from services.api.auth import Reader, ctx_of
from services.api.context import ApiContext
from services.api.exceptions import ChangesUnavailable, InvalidRequest
from services.api.fanout import (
    Change,
    ClusterChangeFeed,
    Cursor,
    Feed,
    Interest,
    behind,
    cursor_text,
    event_stream,
    parse_entry_id,
)
from services.api.openapi import error_responses
from services.api.routes.writes import NEGOTIATION_ID
from services.wire.exceptions import BadCursor
from services.wire.feed import MAX_TEXT, Vector

router = APIRouter(prefix="/v1", tags=["subscribe"])
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
ENTRY_ID_MAX = 41  # the longest entry ID: 20 digits, a dash, 20 digits
READY_WAIT = 5.0  # seconds a subscriber waits for a reader that has not reached Redis yet


@router.get(
    "/subscribe",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: `event: change`, `id:` the change's entry ID "
            "(on Redis Cluster: the vector of every partition's last entry ID, such as "
            "`1700000000000_0_125-1_`), `data:` {negotiation_id, projection, position}.",
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
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=MAX_TEXT,
            description="Resume after this event id: a change entry ID such as "
            "`1700000000000-0` (at most 41 characters) on one Redis server, a vector such as "
            "`1700000000000_0_125-1_` (one position per partition) on Redis Cluster.",
        ),
    ] = None,
    format: Annotated[
        Literal["sse", "cloudevents"],
        Query(description="cloudevents: each `data:` is a structured-mode CloudEvent."),
    ] = "sse",
) -> StreamingResponse:
    """Follow view changes; reconnect with Last-Event-ID to miss none."""
    ctx = ctx_of(request)
    feed = ctx.feed
    asked = None if last_event_id is None else _parsed(feed, last_event_id)
    try:
        await feed.until_ready(READY_WAIT)
        start = None if asked is None else await _resume_point(ctx, asked, last_event_id or "")
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
    """A change as an SSE event whose data is its structured-mode CloudEvent (its ``id`` the
    change's own: on Cluster ``<partition>-<entry ID>``); the SSE id stays the feed's, so
    Last-Event-ID resumes as usual."""
    data = {"negotiation_id": change.negotiation_id, "projection": change.projection}
    event = cloudevent.of_change(change.change_id, {**data, "position": change.position})
    body = cloudevent.structured(event).decode()
    return f"id: {change.id}\nevent: cloudevent\ndata: {body}\n\n"


def _parsed(feed: Feed, last_event_id: str) -> Cursor:
    """The position a Last-Event-ID names; 422 naming the header and why, if it names none."""
    if isinstance(feed, ClusterChangeFeed):
        try:
            return Vector.parse(last_event_id, feed.partitions)
        except BadCursor as e:
            raise InvalidRequest("invalid_header", f"Last-Event-ID: {e.message}") from None
    if len(last_event_id) > ENTRY_ID_MAX or not ENTRY_ID.match(last_event_id):
        raise InvalidRequest(
            "invalid_header", "Last-Event-ID: expected a change entry ID such as 1700000000000-0"
        )
    return parse_entry_id(last_event_id)


async def _resume_point(ctx: ApiContext, start: Cursor, text: str) -> Cursor:
    """Where a resuming subscriber starts; 422 for an ID the stream has not reached."""
    known = ctx.feed.fanout.position
    if known is not None and not behind(known, start):
        return start
    top = await ctx.feed.top()
    if behind(top, start):
        end = cursor_text(top)
        details: dict[str, Any] = {"last_event_id": text, "last_change": end}
        where = "the last change"
        if isinstance(start, Vector) and isinstance(top, Vector):
            k = start.beyond(top)
            details["partition"] = k
            where = f"partition {k}'s last change"
        raise InvalidRequest(
            "last_event_id_beyond_end",
            f"Last-Event-ID: {text} is beyond {where} ({end}); resume from an ID this stream sent",
            details=details,
        )
    return start
