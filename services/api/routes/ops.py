"""Operations: liveness, readiness, Prometheus metrics and the AsyncAPI document."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from projections.views import STORED
from services.api.auth import ctx_of
from services.api.context import ApiContext
from services.api.levels import read_levels
from services.api.models import Health, Readiness, StreamDivergence
from services.recorder.exceptions import RecorderError
from services.wire.asyncapi import asyncapi_json
from services.wire.outages import REDIS_DOWN

router = APIRouter(tags=["operations"])
OPEN: dict[str, Any] = {"security": []}


@router.get("/healthz", response_model=Health, openapi_extra=OPEN)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; `problems` says why."}},
    openapi_extra=OPEN,
)
async def readyz(request: Request) -> JSONResponse:
    """Store writable, Redis reachable, relay and projections within the lag bound, and the
    event stream not diverged from the store."""
    ctx = ctx_of(request)
    readiness = await run_in_threadpool(_readiness, ctx)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)


def _readiness(ctx: ApiContext) -> Readiness:
    bound = ctx.settings.api_ready_max_lag
    store_problem = ctx.app.store_problem()
    if store_problem is not None:
        return Readiness(
            ready=False,
            store_position=None,
            stream_position=None,
            projections={},
            problems=[f"store: {store_problem}"],
        )
    try:
        levels = read_levels(ctx)
    except (RedisError, RecorderError, OSError) as e:
        down = isinstance(e, REDIS_DOWN)
        if down:
            ctx.redis_outage.down(e)
        return Readiness(
            ready=False,
            store_position=None,
            stream_position=None,
            projections={},
            problems=[f"unreachable: {e}"],
            degraded=["redis_unavailable"] if down else [],
        )
    problems = []
    if levels.store_position - levels.stream_position > bound:
        problems.append(
            f"relay: stream at {levels.stream_position}, store at {levels.store_position}"
        )
    problems += [
        f"projection {name}: at {at}, stream at {levels.stream_position}"
        for name, at in levels.tracked.items()
        if levels.stream_position - at > bound
    ]
    found = levels.divergence
    if found is not None:
        problems.append(
            f"stream_diverged: the event stream differs from the store at {found.describe()}; "
            "writes are stored but not published (repair: talkstream relay --rebuild-stream)"
        )
    return Readiness(
        ready=not problems,
        store_position=levels.store_position,
        stream_position=levels.stream_position,
        projections=levels.tracked,
        problems=problems,
        degraded=[] if found is None else ["stream_diverged"],
        relay_lease=None if levels.lease_held is None else _lease_role(levels.lease_held),
        stream_diverged=(
            None
            if found is None
            else StreamDivergence(
                position=found.position,
                store_hash=found.store_hash,
                stream_hash=found.stream_hash,
                detected_at=found.detected_at,
            )
        ),
    )


def _lease_role(held: bool) -> Literal["holder", "standby"]:
    return "holder" if held else "standby"


@router.get(
    "/metrics",
    response_class=Response,
    openapi_extra=OPEN,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    body = await run_in_threadpool(ctx_of(request).metrics.exposition)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/asyncapi", openapi_extra=OPEN)
async def asyncapi() -> dict[str, Any]:
    """The AsyncAPI document of the Redis streams."""
    document: dict[str, Any] = json.loads(asyncapi_json(version("talkstream"), STORED))
    return document
