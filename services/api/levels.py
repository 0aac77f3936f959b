"""Where the store, the stream and every view stand: the figures behind ``/readyz`` and
``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from projections.views import PROJECTIONS
from services.api.metrics import Levels
from services.wire.divergence import Divergence, recorded
from services.wire.entries import last_position

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
        stream_position=last_position(ctx.redis, ctx.streams.events),
        tracked=tracked,
        intake_dead_letters=int(ctx.redis.xlen(ctx.streams.intake_dead)),
        parked=parked,
        divergence=_divergence(ctx),
        lease_held=None if ctx.relay_lease_held is None else ctx.relay_lease_held(),
    )


def _divergence(ctx: ApiContext) -> Divergence | None:
    """As a relay recorded it; also refreshes the copy the answers' header relies on."""
    found = recorded(ctx.redis, ctx.streams.events_diverged)
    ctx.divergence.update(found)
    return found
