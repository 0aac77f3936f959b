"""Publishing: open a negotiation, record an event, record a batch. Each route validates,
hands the drafts to the same application code as the CLI and the intake (in a worker thread),
and answers where the events now stand."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from events import ContractError, Envelope, parse_draft
from services.api.auth import ctx_of, requires
from services.api.body import json_object
from services.api.errors import status_of
from services.api.exceptions import InvalidRequest
from services.api.keys import Permission, Principal
from services.api.models import (
    MAX_POSITION,
    BatchItem,
    BatchRequest,
    BatchResult,
    ErrorDetail,
    WriteResult,
)
from services.api.openapi import error_responses, event_body
from services.recorder.application import Negotiations, Written
from services.recorder.exceptions import BatchRejected, RecorderError, StoreUnavailable

log = logging.getLogger("talkstream.api")
NEGOTIATION_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"
router = APIRouter(prefix="/v1", tags=["publish"])
Writer = Annotated[Principal, Depends(requires(Permission.write))]
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


def _fill(body: dict[str, Any], field: str, value: str | None) -> None:
    if value is not None and body.setdefault(field, value) != value:
        raise InvalidRequest(
            "conflicting_input",
            f"{field}: is {body[field]!r} in the body but {value!r} in the request",
        )


async def _record_one(
    request: Request, principal: Principal, fills: dict[str, str | None], expected: int | None
) -> JSONResponse:
    body = await json_object(request)
    for field, value in fills.items():
        _fill(body, field, value)
    draft = parse_draft(body)
    ctx = ctx_of(request)
    written = await run_in_threadpool(
        ctx.app.record, draft, principal=principal.name, expected_version=expected
    )
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
    items: dict[int, BatchItem] = {}
    groups: dict[str, list[tuple[int, Envelope]]] = defaultdict(list)
    for index, body in enumerate(events):
        try:
            draft = parse_draft(body)
        except ContractError as e:
            items[index] = _refused(index, e.code, str(e), status_of(e))
            continue
        groups[draft.negotiation_id].append((index, draft))
    bad_at: dict[str, int] = {}
    for index in sorted(items):
        negotiation_id = events[index].get("negotiation_id")
        if isinstance(negotiation_id, str):  # a list or an object belongs to no negotiation
            bad_at.setdefault(negotiation_id, index)
    app = ctx_of(request).app
    for negotiation_id, group in groups.items():
        if negotiation_id in bad_at:
            sibling = _sibling_refused(bad_at[negotiation_id])
            for index, _ in group:
                items[index] = _refused(index, "batch_rejected", sibling, 409)
            continue
        try:
            recorded = _record_group(app, group, principal)
        except StoreUnavailable as e:
            if not any(item.status < 300 for item in items.values()):
                raise  # nothing recorded: the whole request is a 503
            recorded = [(i, _refused(i, e.code, e.message, status_of(e))) for i, _ in group]
        for index, item in recorded:
            items[index] = item
    written = sum(1 for i in items.values() if i.status == 201)
    ctx_of(request).metrics.written.inc(written)
    return [items[i] for i in range(len(events))]


def _record_group(
    app: Negotiations, group: list[tuple[int, Envelope]], principal: str
) -> list[tuple[int, BatchItem]]:
    indexes = [index for index, _ in group]
    try:
        results = app.record_many([draft for _, draft in group], principal=principal)
    except BatchRejected as e:
        bad = indexes[e.index]
        return [
            (i, _refused(i, e.code, e.reason, status_of(e)))
            if i == bad
            else (i, _refused(i, "batch_rejected", _sibling_refused(bad), 409))
            for i in indexes
        ]
    except (RecorderError, ContractError) as e:
        if isinstance(e, StoreUnavailable):
            raise
        message = e.message if isinstance(e, RecorderError) else str(e)
        return [(i, _refused(i, e.code, message, status_of(e))) for i in indexes]
    return [
        (
            i,
            BatchItem(
                index=i, status=200 if w.duplicate else 201, result=WriteResult(**w.as_dict())
            ),
        )
        for i, w in zip(indexes, results, strict=True)
    ]


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
