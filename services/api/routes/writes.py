"""Publishing: open a negotiation, record an event, record a batch. Each route validates,
hands the drafts to the same application code as the CLI and the intake (in a worker thread),
and answers where the events now stand."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from events import ContractError, Envelope, cloudevent, parse_draft
from services.api.auth import Writer, ctx_of
from services.api.body import json_object
from services.api.errors import status_of
from services.api.exceptions import InvalidRequest
from services.api.keys import Principal
from services.api.models import (
    MAX_POSITION,
    BatchItem,
    BatchRequest,
    BatchResult,
    ErrorDetail,
    WriteResult,
)
from services.api.openapi import error_responses, event_body
from services.api.tracing import recorded, recording
from services.recorder.application import InvalidDraft, Policy, Refused, Written

log = logging.getLogger("talkstream.api")
NEGOTIATION_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"
router = APIRouter(prefix="/v1", tags=["publish"])
ExpectedVersion = Annotated[
    int | None,
    Query(ge=0, le=MAX_POSITION, description="Refuse (409) unless the negotiation is at it."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200, description="Same as the event's idempotency_key: a re-send records once."
    ),
]
WRITE_ERRORS = error_responses(401, 403, 404, 409, 413, 415, 422, 429, 503)


def _answer(written: Written, request: Request) -> JSONResponse:
    if not written.duplicate:
        ctx_of(request).metrics.written.inc()
    log.info(
        "recorded negotiation_id=%s event_id=%s position=%s version=%s by=%s duplicate=%s",
        written.negotiation_id,
        written.event_id,
        written.position,
        written.version,
        request.state.principal.name,
        written.duplicate,
    )
    return JSONResponse(
        WriteResult(**written.as_dict()).model_dump(),
        status_code=200 if written.duplicate else 201,
        headers={"Location": f"/v1/negotiations/{written.negotiation_id}"},
    )


async def _body(request: Request, fills: dict[str, str | None]) -> dict[str, Any]:
    """The published event: a JSON body, or a CloudEvent (structured or binary mode) on
    ``.../events`` (docs/cloudevents.md)."""
    if "negotiation_id" in fills and cloudevent.is_cloudevent(request.headers):
        event = cloudevent.read_http(request.headers, await request.body())
        return cloudevent.draft_body(event, fills["negotiation_id"])
    return await json_object(request)


def _fill(body: dict[str, Any], field: str, value: str | None) -> None:
    if value is not None and body.setdefault(field, value) != value:
        raise InvalidRequest(
            "conflicting_input",
            f"{field}: is {body[field]!r} in the body but {value!r} in the request",
        )


async def _record_one(
    request: Request, principal: Principal, fills: dict[str, str | None], expected: int | None
) -> JSONResponse:
    body = await _body(request, fills)
    for field, value in fills.items():
        _fill(body, field, value)
    draft = parse_draft(body)
    ctx = ctx_of(request)
    with recording(draft) as span:
        written = await run_in_threadpool(
            ctx.app.record, draft, principal=principal.name, expected_version=expected
        )
        recorded(span, written)
    return _answer(written, request)


@router.post(
    "/negotiations",
    status_code=201,
    response_model=WriteResult,
    responses={200: {"model": WriteResult, "description": "A re-send."}, **WRITE_ERRORS},
    openapi_extra=event_body("NegotiationOpened"),
    summary="Open a negotiation (a NegotiationOpened event)",
)
async def open_negotiation(
    request: Request, principal: Writer, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    fills = {"type": "NegotiationOpened", "idempotency_key": idempotency_key}
    return await _record_one(request, principal, fills, None)


@router.post(
    "/negotiations/{negotiation_id}/events",
    status_code=201,
    response_model=WriteResult,
    responses={200: {"model": WriteResult, "description": "A re-send."}, **WRITE_ERRORS},
    openapi_extra=event_body(),
    summary="Record one event in a negotiation",
    description="A JSON event, or a CloudEvent in structured mode (`application/cloudevents+json`)"
    " or binary mode (`ce-*` headers): its `type` is the event type, its `data` the event "
    "without `type`, its `source` + `id` the idempotency key (docs/cloudevents.md).",
)
async def record_event(
    request: Request,
    principal: Writer,
    negotiation_id: Annotated[str, Path(pattern=NEGOTIATION_ID)],
    expected_version: ExpectedVersion = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    fills = {"negotiation_id": negotiation_id, "idempotency_key": idempotency_key}
    return await _record_one(request, principal, fills, expected_version)


@router.post(
    "/events:batch",
    response_model=BatchResult,
    responses=error_responses(401, 403, 413, 415, 422, 429, 503),
    summary="Record many events; each negotiation's share is recorded atomically",
)
async def record_batch(request: Request, principal: Writer) -> BatchResult:
    ctx = ctx_of(request)
    try:
        batch = BatchRequest.model_validate(await json_object(request))
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest("invalid_request", f"{where}: {first['msg']}") from None
    if len(batch.events) > ctx.settings.api_batch_max:
        raise InvalidRequest(
            "batch_too_large",
            f"events: {len(batch.events)} events; at most {ctx.settings.api_batch_max} a batch",
        )
    items = await run_in_threadpool(_record_groups, request, batch.events, principal.name)
    summary = _summary(items)
    log.info(
        "batch events=%s recorded=%s duplicates=%s refused=%s by=%s",
        len(items),
        summary.recorded,
        summary.duplicates,
        summary.refused,
        principal.name,
    )
    return summary


def _record_groups(
    request: Request, events: list[dict[str, Any]], principal: str
) -> list[BatchItem]:
    """Each negotiation's events in one transaction; a refusal refuses that negotiation's share
    only. Results keep the request's order."""
    drafts = [_draft_or_invalid(body) for body in events]
    results = ctx_of(request).app.record_batch(
        drafts, principal=principal, policy=Policy.PER_NEGOTIATION
    )
    items = [_item(index, result) for index, result in enumerate(results)]
    ctx_of(request).metrics.written.inc(sum(1 for i in items if i.status == 201))
    return items


def _draft_or_invalid(body: dict[str, Any]) -> Envelope | InvalidDraft:
    try:
        return parse_draft(body)
    except ContractError as e:
        negotiation_id = body.get("negotiation_id")  # a list or an object names no negotiation
        return InvalidDraft(e, negotiation_id if isinstance(negotiation_id, str) else None)


def _item(index: int, result: Written | Refused) -> BatchItem:
    if isinstance(result, Written):
        status = 200 if result.duplicate else 201
        return BatchItem(index=index, status=status, result=WriteResult(**result.as_dict()))
    if result.because_of is not None:
        return _refused(index, "batch_rejected", _sibling_refused(result.because_of), 409)
    return _refused(index, result.error.code, str(result.error), status_of(result.error))


def _sibling_refused(index: int) -> str:
    return f"not recorded: event {index} of the same negotiation in this batch was refused"


def _refused(index: int, code: str, message: str, status: int) -> BatchItem:
    return BatchItem(index=index, status=status, error=ErrorDetail(code=code, message=message))


def _summary(items: list[BatchItem]) -> BatchResult:
    return BatchResult(
        recorded=sum(1 for i in items if i.status == 201),
        duplicates=sum(1 for i in items if i.status == 200),
        refused=sum(1 for i in items if i.status >= 400),
        results=items,
    )
