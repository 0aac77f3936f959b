"""The one place that builds the application (and later the clients) from settings."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.recorder.application import Negotiations
from services.recorder.exceptions import RecorderError, StoreUnavailable
from services.recorder.store import STORE_FAILURES, eventsourcing_env
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.api.context import ApiContext


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
    """Everything the HTTP routes share, from settings and a Redis URL."""
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis
    from redis.exceptions import RedisError

    from projections.pointintime import PointInTime
    from services.api.context import ApiContext
    from services.api.keys import KeyRing
    from services.api.limits import RateLimiter
    from services.api.metrics import Levels, Metrics
    from services.api.routes.ops import read_levels
    from services.runtime.outages import REDIS_DOWN, Outage

    application = app or build_application(settings)
    ctx: ApiContext

    def levels() -> Levels | None:
        try:
            return read_levels(ctx)
        except REDIS_DOWN as e:
            ctx.redis_outage.down(e)
            return None
        except (RedisError, RecorderError, OSError):
            return None

    redis = Redis.from_url(redis_url)
    ctx = ApiContext(
        settings=settings,
        app=application,
        redis=redis,
        async_redis=AsyncRedis.from_url(redis_url),
        keys=KeyRing(settings.keys_path),
        limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst),
        metrics=Metrics(levels),
        pit=PointInTime(lambda nid, after: application.wires(nid, after_version=after)),
        redis_outage=Outage("api", logging.getLogger("talkstream.api"), probe=redis.ping),
    )
    ctx.metrics.count_subscribers(lambda: ctx.feed.fanout.count)
    return ctx
