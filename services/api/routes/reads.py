"""Reading: the live views served from Redis, or, with ``as_of``/``known_at``, folds of the
stored events with the same reducers. ``min_position`` waits (bounded) until the views have
applied a position, so a client can read its own write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from events import PartialDate
from events.dates import optional_date
from projections.asof import too_early
from projections.diff import Change, diff
from projections.negotiation import State
from projections.views import PROJECTIONS, commitment_rows, due_next
from services.api.auth import Reader, ctx_of
from services.api.context import ApiContext
from services.api.exceptions import InvalidRequest, NotCaughtUp
from services.api.models import (
    MAX_POSITION,
    DiffAnswer,
    NegotiationList,
    NegotiationSummary,
    ViewAnswer,
)
from services.api.openapi import error_responses
from services.api.routes.writes import NEGOTIATION_ID
from services.api.views import Views
from services.recorder.exceptions import NothingYet

router = APIRouter(prefix="/v1", tags=["read"])
NegotiationId = Annotated[str, Path(pattern=NEGOTIATION_ID)]
AsOf = Annotated[
    str | None,
    Query(max_length=40, description="World time: YYYY, YYYY-MM, YYYY-MM-DD or a timestamp."),
]
KnownAt = Annotated[
    str | None, Query(max_length=40, description="Record time: what the store knew then.")
]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=MAX_POSITION, description="Wait (bounded) until the views applied this."),
]
READ_ERRORS = error_responses(401, 403, 404, 422, 429, 503)
POLL_SECONDS = 0.01


async def wait_for(ctx: ApiContext, store: Views, position: int | None) -> None:
    """Returns once ``store`` has applied ``position``; 503 when the wait runs out."""
    if position is None:
        return
    last = await run_in_threadpool(ctx.app.max_position)
    if position > last:
        raise InvalidRequest(
            "invalid_parameter",
            f"min_position: {position} is beyond the last recorded position {last}",
        )
    deadline = time.monotonic() + ctx.settings.api_wait_max
    while (reached := await run_in_threadpool(_tracked, store)) < position:
        if time.monotonic() > deadline:
            raise NotCaughtUp(
                "not_caught_up",
                f"the {store.name} view reached position {reached}, not {position}, "
                f"within {ctx.settings.api_wait_max:g} s",
                details={"reached": reached, "wanted": position},
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(POLL_SECONDS)


def _tracked(store: Views) -> int:
    return store.tracked(store.generation())


def _today() -> Any:
    return datetime.now(UTC).date()


async def answer(
    request: Request,
    projection: str,
    negotiation_id: str,
    *,
    as_of: str | None,
    known_at: str | None,
    min_position: int | None,
) -> ViewAnswer:
    """The view from Redis when no point in time is asked and Redis has it; else a fold of
    the stored events (which also answers a negotiation the views have not reached yet)."""
    ctx = ctx_of(request)
    render = PROJECTIONS[projection].render
    when = {"as_of": optional_date(as_of, "as_of"), "known_at": optional_date(known_at, "known_at")}
    if as_of is None and known_at is None:
        store = ctx.views(projection)
        await wait_for(ctx, store, min_position)
        position, view = await run_in_threadpool(_live_view, ctx, projection, negotiation_id)
        if view is not None:
            return ViewAnswer(
                negotiation_id=negotiation_id, position=position, source="live", view=view
            )
    state = await run_in_threadpool(_point_in_time, ctx, negotiation_id, when)
    return ViewAnswer(
        negotiation_id=negotiation_id,
        position=state["view"].get("position") or 0,
        as_of=as_of,
        known_at=known_at,
        source="store",
        view=render(state, _today()),
    )


def _point_in_time(
    ctx: ApiContext, negotiation_id: str, when: dict[str, PartialDate | None]
) -> State:
    """The fold at a point in time; 404 when the negotiation was not yet known or opened."""
    NothingYet.unless(too_early(ctx.pit.opening(negotiation_id), **when))
    return ctx.pit.state(negotiation_id, **when)


def _live_view(ctx: ApiContext, projection: str, negotiation_id: str) -> tuple[int, Any]:
    """The tracked position and the rendered live view (None: not in the view yet), rendered
    again only when the negotiation's state changed."""
    store = ctx.views(projection)
    today = _today()
    served = store.served()
    if served is not None:  # the common case: one read of one key when nothing was written
        key = (projection, served.gen, negotiation_id)
        view = ctx.rendered.current(key, served.stamp, today)
        if view is not None:
            return served.tracked, view
    gen = served.gen if served is not None else store.generation()
    position, head = store.tracked_and_head(gen, negotiation_id)
    if head is None:
        return position, None
    key = (projection, gen, negotiation_id)
    view = ctx.rendered.get(key, head, today)
    if view is None:
        state = store.load(gen, [negotiation_id])[negotiation_id]
        if state is None:
            return position, None
        view = PROJECTIONS[projection].render(state, today)
        ctx.rendered.put(key, head, today, view)
    if served is not None:
        ctx.rendered.confirm(key, served.stamp)
    return position, view


@router.get("/negotiations", response_model=NegotiationList, responses=READ_ERRORS)
async def list_negotiations(
    request: Request,
    principal: Reader,
    after: Annotated[
        str | None, Query(max_length=64, description="Negotiations after this id (a page).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    min_position: MinPosition = None,
) -> NegotiationList:
    """The negotiations the live view holds, by id, with title and status, a page at a time."""
    ctx = ctx_of(request)
    store = ctx.views("negotiation")
    await wait_for(ctx, store, min_position)
    return await run_in_threadpool(_listing, store, after, limit)


def _listing(store: Views, after: str | None, limit: int) -> NegotiationList:
    gen = store.generation()
    ids = [nid for nid in store.negotiation_ids(gen) if after is None or nid > after]
    page = ids[:limit]
    heads = store.heads(gen, page) if page else {}
    rows = [
        NegotiationSummary(
            negotiation_id=nid,
            title=(heads.get(nid) or {}).get("title"),
            status=(heads.get(nid) or {}).get("status"),
        )
        for nid in page
    ]
    return NegotiationList(
        position=store.tracked(gen),
        negotiations=rows,
        next_after=page[-1] if len(ids) > limit else None,
    )


# (path suffix, projection, what it answers)
VIEW_ROUTES = [
    ("", "negotiation", "The negotiation's current state, or its state at a point in time."),
    ("/timeline", "timeline", "The developments ordered by when they happened."),
    ("/positions", "positions", "Per party and issue, the series of stated positions."),
]


def _view_endpoint(projection: str) -> Callable[..., Awaitable[ViewAnswer]]:
    async def endpoint(
        request: Request,
        *,
        principal: Reader,
        negotiation_id: NegotiationId,
        as_of: AsOf = None,
        known_at: KnownAt = None,
        min_position: MinPosition = None,
    ) -> ViewAnswer:
        return await answer(
            request,
            projection,
            negotiation_id,
            as_of=as_of,
            known_at=known_at,
            min_position=min_position,
        )

    return endpoint


for suffix, name, doc in VIEW_ROUTES:
    router.add_api_route(
        f"/negotiations/{{negotiation_id}}{suffix}",
        _view_endpoint(name),
        methods=["GET"],
        response_model=ViewAnswer,
        responses=READ_ERRORS,
        name=f"get_{name}",
        summary=doc.split(",")[0].rstrip("."),
        description=doc,
    )


@router.get("/negotiations/{negotiation_id}/diff", response_model=DiffAnswer, responses=READ_ERRORS)
async def get_diff(
    request: Request,
    *,
    principal: Reader,
    negotiation_id: NegotiationId,
    start: Annotated[str, Query(alias="from", max_length=40, description="The earlier time.")],
    end: Annotated[str, Query(alias="to", max_length=40, description="The later time.")],
    clock: Annotated[
        Literal["world", "record"],
        Query(description="world: as_of / occurred_at; record: known_at / recorded_at."),
    ] = "world",
) -> DiffAnswer:
    """What changed in the negotiation's view between two times, with the causing events."""
    ctx = ctx_of(request)
    option = "as_of" if clock == "world" else "known_at"
    points = [optional_date(start, "from"), optional_date(end, "to")]

    def changes() -> list[Change]:
        before, after = (ctx.pit.state(negotiation_id, **{option: p}) for p in points)
        return diff(before, after, today=_today())

    return DiffAnswer(
        negotiation_id=negotiation_id,
        clock=clock,
        start=start,
        end=end,
        changes=await run_in_threadpool(changes),
    )


@router.get("/commitments", responses=READ_ERRORS)
async def get_commitments(
    request: Request,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Open milestones across all negotiations, the soonest due first."""
    ctx = ctx_of(request)
    store = ctx.views("commitments")
    await wait_for(ctx, store, min_position)
    return await run_in_threadpool(_due_next, store, limit)


def _due_next(store: Views, limit: int) -> dict[str, Any]:
    gen = store.generation()
    ids = store.negotiation_ids(gen)
    states = store.load(gen, ids) if ids else {}
    rows = [row for s in states.values() if s is not None for row in commitment_rows(s, _today())]
    return {"position": store.tracked(gen), "due_next": due_next(rows, limit=limit)}
