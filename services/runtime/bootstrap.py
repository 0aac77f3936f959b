"""The one place that builds the application and the API's context from settings (the
context reads views through the projection workers' store, handed over here)."""

from __future__ import annotations

import functools

from projections.live.partitioned import open_views
from services.api.context import ApiContext, build_context
from services.recorder.application import Negotiations
from services.recorder.exceptions import StoreUnavailable
from services.recorder.store import STORE_FAILURES, eventsourcing_env
from services.settings import Settings
from services.wire import tracing


def build_application(settings: Settings) -> Negotiations:
    try:
        return Negotiations(env=eventsourcing_env(settings))
    except STORE_FAILURES as e:
        where = settings.events_db if settings.store == "sqlite" else "PostgreSQL"
        raise StoreUnavailable(
            "store_unavailable", f"cannot open the {settings.store} event store at {where}: {e}"
        ) from e


def build_api_context(
    settings: Settings, redis_url: str, app: Negotiations | None = None
) -> ApiContext:
    """Everything the HTTP routes share, from settings and a Redis URL; the full audit is
    handed in (its stream and view checks are the workers' side), and each save keeps the
    writing request's trace context for the relay (while tracing is on)."""
    from services.runtime.audit import full_audit

    application = app or build_application(settings)
    ctx = build_context(
        settings,
        redis_url,
        application,
        open_views(settings.partitions),
        lambda redis: full_audit(settings, application, redis),
    )
    ctx.app.on_saved.append(functools.partial(tracing.remember, ctx.redis, ctx.streams.events))
    return ctx
