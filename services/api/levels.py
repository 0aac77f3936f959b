"""Where the store, the stream and every view stand: the figures behind ``/readyz`` and
``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projections.views import PROJECTIONS
from services.api.metrics import Levels
from services.relay import divergence

if TYPE_CHECKING:
    from services.api.context import ApiContext


def read_levels(ctx: ApiContext) -> Levels:
    """The store's and Redis's current positions and dead-letter counts."""
    tracked, parked = {}, {}
    for name in PROJECTIONS:
        store = ctx.views(name)
        gen = store.generation()
        tracked[name] = store.tracked(gen)
        parked[name] = len(store.parked(gen))
    return Levels(
        store_position=ctx.app.max_position(),
        stream_position=_stream_position(ctx),
        tracked=tracked,
        intake_dead_letters=int(ctx.redis.xlen(ctx.streams.intake_dead)),
        parked=parked,
        divergence=_divergence(ctx),
    )


def _divergence(ctx: ApiContext) -> divergence.Divergence | None:
    """As a relay recorded it; also refreshes the copy the answers' header relies on."""
    found = divergence.recorded(ctx.redis, ctx.streams.events_diverged)
    ctx.divergence.update(found)
    return found


def _stream_position(ctx: ApiContext) -> int:
    last: Any = ctx.redis.xrevrange(ctx.streams.events, count=1)
    return int(last[0][0].decode().split("-")[0]) if last else 0
