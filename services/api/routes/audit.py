"""The auditor's routes: the stored history page by page, and a full verification."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from services.api.auth import Auditor, ctx_of
from services.api.models import MAX_POSITION, AuditFinding, AuditPage, AuditVerdict
from services.api.openapi import error_responses
from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport, verify

router = APIRouter(prefix="/v1/audit", tags=["audit"])
MAX_PROBLEMS = 100


@router.get("/events", response_model=AuditPage, responses=error_responses(401, 403, 422, 429, 503))
async def audit_events(
    request: Request,
    principal: Auditor,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Events after this position.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Stored events in position order, exactly as hashed, with position and hash."""
    app = ctx_of(request).app
    events = await run_in_threadpool(_page, app, after, limit)
    more = len(events) == limit
    return AuditPage(
        after=after, next_after=events[-1]["position"] if more else None, events=events
    )


def _page(app: Negotiations, after: int, limit: int) -> list[dict[str, Any]]:
    out = []
    for n in islice(app.notifications(after, page=limit), limit):
        wire = app.wire_of(n)
        wire["position"] = n.id
        out.append(wire)
    return out


@router.get("/verify", response_model=AuditVerdict, responses=error_responses(401, 403, 429, 503))
async def audit_verify(request: Request, principal: Auditor) -> AuditVerdict:
    """The full verification, as `talkstream audit verify --json`: every stored byte against
    its hash, every chain link, the log's tree against every signed checkpoint, the event
    stream against the store and each live view against a fresh fold."""
    ctx = ctx_of(request)
    audit = ctx.full_audit
    report = await run_in_threadpool(
        (lambda: audit(ctx.redis)) if audit is not None else (lambda: verify(ctx.app))
    )
    return verdict(report)


def verdict(report: AuditReport) -> AuditVerdict:
    data = report.as_json()
    data["findings"] = data["findings"][:MAX_PROBLEMS]
    first = data.pop("first")
    return AuditVerdict(
        **data,
        first=AuditFinding(**first) if first else None,
    )
