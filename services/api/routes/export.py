"""A negotiation's events in standard shapes: ``events.csv``, the events table of the data
package (``projections.tables``), streamed as CSV a page of rows at a time; ``cloudevents``, a
CloudEvents batch (``events.cloudevent``). Both now or at a point in time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from events import cloudevent
from events.dates import optional_date
from projections.asof import fold_at, too_early, visible
from projections.tables import csv_text, event_row
from services.api.auth import Reader, ctx_of
from services.api.openapi import error_responses
from services.api.routes.reads import AsOf, KnownAt, NegotiationId
from services.recorder.exceptions import NothingYet

router = APIRouter(prefix="/v1", tags=["read"])
PAGE = 500  # rows encoded per chunk


@router.get(
    "/negotiations/{negotiation_id}/events.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/csv: the events table of `talkstream export` (header first).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 404, 422, 429, 503),
    },
    summary="A negotiation's events as CSV (the data package's events table)",
)
async def events_csv(
    request: Request,
    principal: Reader,
    negotiation_id: NegotiationId,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> StreamingResponse:
    when = {"as_of": optional_date(as_of, "as_of"), "known_at": optional_date(known_at, "known_at")}
    ctx = ctx_of(request)
    wires = await run_in_threadpool(ctx.app.wires, negotiation_id)
    NothingYet.unless(too_early(wires[0], **when))
    seen = [w for w in wires if visible(w, **when)]
    return StreamingResponse(
        _chunks(seen),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{negotiation_id}-events.csv"'},
    )


@router.get(
    "/negotiations/{negotiation_id}/cloudevents",
    responses={
        200: {
            "description": "application/cloudevents-batch+json: every event of the negotiation "
            "as a structured-mode CloudEvent (docs/cloudevents.md), in record order.",
            "content": {cloudevent.BATCH: {"schema": {"type": "array"}}},
        },
        **error_responses(401, 403, 404, 422, 429, 503),
    },
    summary="A negotiation's events as CloudEvents",
)
async def events_cloudevents(
    request: Request,
    principal: Reader,
    negotiation_id: NegotiationId,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> Response:
    when = {"as_of": optional_date(as_of, "as_of"), "known_at": optional_date(known_at, "known_at")}
    wires = await run_in_threadpool(ctx_of(request).app.wires, negotiation_id)
    NothingYet.unless(too_early(wires[0], **when))
    batch = [
        cloudevent.structured_dict(cloudevent.of_recorded(w)) for w in wires if visible(w, **when)
    ]
    return Response(json.dumps(batch, ensure_ascii=False), media_type=cloudevent.BATCH)


def _chunks(seen: list[dict[str, Any]]) -> Iterator[str]:
    state = fold_at(seen)
    yield csv_text("events", [])
    for start in range(0, len(seen), PAGE):
        rows = [event_row(w, state) for w in seen[start : start + PAGE]]
        yield csv_text("events", rows, header=False)
