"""The verifiable log's routes (auditors): the latest signed checkpoint and the ones after a
size, the tree's tiles and entry bundles as C2SP tlog-tiles static files, and RFC 9162
inclusion and consistency proofs. Everything is read from the store (O(log n) stored hashes a
proof, one tile a tile), never from Redis."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from events.tlog import parse_entries_path, parse_tile_path
from services.api.auth import Auditor, ctx_of
from services.api.models import MAX_POSITION
from services.api.openapi import error_responses
from services.recorder.exceptions import LedgerNotFound
from services.recorder.ledger import Ledger

router = APIRouter(prefix="/v1/audit", tags=["audit"])
IMMUTABLE = "public, max-age=31536000, immutable"
NOTE_TYPE = "text/plain; charset=utf-8"


class CheckpointItem(BaseModel):
    size: int
    root: str = Field(description="Root hash, standard base64.")
    note: str = Field(description="The C2SP tlog-checkpoint signed note, as served.")
    made_at: str


class InclusionAnswer(BaseModel):
    position: int
    leaf_index: int
    tree_size: int
    leaf: str = Field(description="The 40-byte leaf (uint64_be position || event hash), base64.")
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf), base64.")
    proof: list[str] = Field(description="RFC 9162 §2.1.3 PATH, deepest first, base64.")
    root: str = Field(description="The root of the tree of tree_size, base64.")


class ConsistencyAnswer(BaseModel):
    from_: int = Field(alias="from")
    to: int
    from_root: str
    to_root: str
    proof: list[str] = Field(description="RFC 9162 §2.1.4 PROOF, base64.")


def _ledger(request: Request) -> Ledger:
    return ctx_of(request).ledger


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The latest signed checkpoint."},
        **error_responses(401, 403, 404, 429, 503),
    },
)
async def latest_checkpoint(request: Request, principal: Auditor) -> Response:
    """The latest signed checkpoint, in the C2SP tlog-checkpoint note format (404
    ``no_checkpoint`` before the first)."""
    found = await run_in_threadpool(_ledger(request).latest_checkpoint)
    if found is None:
        raise LedgerNotFound("no_checkpoint", "the log has no checkpoint yet")
    return Response(found.note, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})


@router.get(
    "/checkpoints",
    response_model=list[CheckpointItem],
    responses=error_responses(401, 403, 422, 429, 503),
)
async def checkpoints_after(
    request: Request,
    principal: Auditor,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="Sizes above this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Signed checkpoints of tree size greater than ``after``, smallest first."""
    found = await run_in_threadpool(_ledger(request).checkpoints, after, limit)
    return [c.as_json() for c in found]


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "A C2SP tlog-tiles tile or entry bundle (immutable).",
        },
        **error_responses(401, 403, 404, 422, 429, 503),
    },
)
async def tile(request: Request, principal: Auditor, path: str) -> Response:
    """``tile/<L>/<N>[.p/<W>]`` (hashes) or ``tile/entries/<N>[.p/<W>]`` (leaves), as C2SP
    tlog-tiles names them; 404 ``tile_not_found`` beyond the tree."""
    ledger = _ledger(request)
    full = f"tile/{path}"
    if path.startswith("entries/"):
        data = await run_in_threadpool(ledger.entries, parse_entries_path(full))
    else:
        data = await run_in_threadpool(ledger.tile, parse_tile_path(full))
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
    )


@router.get(
    "/proof/inclusion",
    response_model=InclusionAnswer,
    responses=error_responses(401, 403, 404, 422, 429, 503),
)
async def inclusion(
    request: Request,
    principal: Auditor,
    position: Annotated[int, Query(ge=1, le=MAX_POSITION, description="The event's position.")],
    size: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="Tree size (default: the latest checkpoint's)."),
    ] = None,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of the event at ``position`` in the tree of ``size``."""
    proof = await run_in_threadpool(_ledger(request).inclusion, position, size)
    return proof.as_json()


@router.get(
    "/proof/consistency",
    response_model=ConsistencyAnswer,
    response_model_by_alias=True,
    responses=error_responses(401, 403, 422, 429, 503),
)
async def consistency(
    request: Request,
    principal: Auditor,
    old: Annotated[int, Query(alias="from", ge=0, le=MAX_POSITION, description="Old size.")],
    new: Annotated[int, Query(alias="to", ge=0, le=MAX_POSITION, description="New size.")],
) -> dict[str, Any]:
    """RFC 9162 consistency proof that the tree of ``to`` leaves extends that of ``from``."""
    proof = await run_in_threadpool(_ledger(request).consistency, old, new)
    return proof.as_json()
