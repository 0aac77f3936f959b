"""Webhook subscriptions, for admin keys: ``POST /v1/hooks`` registers one (the ``whsec_``
secret, generated when none is given, is shown in this answer only), ``GET /v1/hooks`` lists
them without secrets, ``DELETE /v1/hooks/{id}`` removes one. The deliverer
(``services/hooks``) POSTs the changes; docs/webhooks.md says how."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from projections.views import PROJECTIONS
from services.api.auth import Admin, ctx_of
from services.api.body import json_object
from services.api.exceptions import InvalidRequest
from services.api.openapi import error_responses
from services.api.routes.writes import NEGOTIATION_ID
from services.wire.hooks import Hooks

router = APIRouter(prefix="/v1", tags=["webhooks"])
HOOK_ID = r"^hook_[0-9a-f]{16}$"


class HookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http(s) URL; no private address (SSRF).")
    secret: str | None = Field(
        default=None, max_length=200, description="whsec_...; generated if absent."
    )
    negotiation: str | None = Field(default=None, pattern=NEGOTIATION_ID)
    view: str | None = Field(default=None, pattern="^(" + "|".join(PROJECTIONS) + ")$")


class HookAnswer(BaseModel):
    id: str
    url: str
    negotiation: str | None
    view: str | None
    created_at: str
    secret: str | None = Field(default=None, description="Only in the answer to POST.")


def _hooks(request: Request) -> Hooks:
    ctx = ctx_of(request)
    return Hooks(ctx.redis, ctx.settings.prefix, partitions=ctx.settings.partitions)


@router.post(
    "/hooks",
    status_code=201,
    response_model=HookAnswer,
    responses=error_responses(401, 403, 415, 422, 429, 503),
    summary="Register a webhook (the secret is shown once)",
)
async def add_hook(request: Request, principal: Admin) -> HookAnswer:
    try:
        asked = HookRequest.model_validate(await json_object(request))
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest("invalid_request", f"{where}: {first['msg']}") from None
    allow = ctx_of(request).settings.hooks_allow_private
    hook = await run_in_threadpool(
        lambda: _hooks(request).add(
            asked.url,
            allow_private=allow,
            secret=asked.secret,
            negotiation=asked.negotiation,
            view=asked.view,
        )
    )
    return HookAnswer(**hook.public(), secret=hook.secret)


@router.get(
    "/hooks",
    response_model=list[HookAnswer],
    responses=error_responses(401, 403, 429, 503),
    summary="List the webhooks (without secrets)",
)
async def list_hooks(request: Request, principal: Admin) -> list[dict[str, Any]]:
    hooks = await run_in_threadpool(_hooks(request).all)
    return [h.public() for h in hooks]


@router.delete(
    "/hooks/{hook_id}",
    status_code=204,
    responses=error_responses(401, 403, 404, 429, 503),
    summary="Remove a webhook (and its parked deliveries)",
)
async def remove_hook(
    request: Request, principal: Admin, hook_id: Annotated[str, Path(pattern=HOOK_ID)]
) -> Response:
    await run_in_threadpool(_hooks(request).remove, hook_id)
    return Response(status_code=204)
