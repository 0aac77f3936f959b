"""What the routes share: settings, the application, Redis, keys, limits and caches. Built once
by ``build_context`` (which the composition calls); routes reach it through
``request.app.state.ctx``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from projections.pointintime import PointInTime
from projections.views import PROJECTIONS
from services.api.degraded import DivergenceWatch
from services.api.fanout import ChangeFeed, ClusterChangeFeed, Fanout, Feed
from services.api.keys import KeyRing
from services.api.limits import RateLimiter
from services.api.metrics import Levels, Metrics
from services.api.rendered import RenderedViews
from services.api.views import OpenViews, Views
from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport
from services.recorder.exceptions import RecorderError
from services.recorder.ledger import Ledger, open_ledger
from services.settings import Settings
from services.wire.connect import connect, connect_async, is_cluster
from services.wire.outages import REDIS_DOWN, Outage
from services.wire.streams import Streams

FullAudit = Callable[[Redis], AuditReport]  # the store, log, stream and views, read from Redis


@dataclass
class ApiContext:
    settings: Settings
    app: Negotiations
    redis: Redis
    async_redis: AsyncRedis
    keys: KeyRing
    limiter: RateLimiter
    metrics: Metrics
    pit: PointInTime
    redis_outage: Outage  # logs the API's Redis outages: one line each way
    open_views: OpenViews
    full_audit: FullAudit | None = None  # handed in by the composition; else the store only
    # Whether this process's relay holds the relay lease; None when it runs no relay.
    relay_lease_held: Callable[[], bool] | None = None
    rendered: RenderedViews = field(default_factory=RenderedViews)
    divergence: DivergenceWatch = field(init=False)
    _views: dict[str, Views] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.divergence = DivergenceWatch(self.async_redis, self.streams.events_diverged)

    @property
    def streams(self) -> Streams:
        return Streams(self.settings.prefix)

    @cached_property
    def feed(self) -> Feed:
        """The process's one reader of the changes, fanned out to SSE subscribers: of the one
        changes stream, or of every partition's on Redis Cluster."""
        fanout = Fanout(
            queue_size=self.settings.sse_queue,
            max_subscribers=self.settings.sse_max_subscribers,
            max_per_key=self.settings.sse_max_per_key,
        )
        if is_cluster(self.redis):
            streams = self.streams.partitions(self.settings.partitions)
            changes = [part.partition_changes for part in streams]
            return ClusterChangeFeed(self.async_redis, changes, fanout)
        return ChangeFeed(self.async_redis, self.streams.changes, fanout)

    @cached_property
    def ledger(self) -> Ledger:
        """The verifiable log in the application's store (its tables made on first use)."""
        return open_ledger(self.app, self.settings)

    def views(self, name: str) -> Views:
        """Projection ``name``'s stored states, opened once per process."""
        opened = self._views.get(name)
        if opened is None:
            opened = self.open_views(self.redis, self.settings.prefix, PROJECTIONS[name].name)
            self._views[name] = opened
        return opened


def build_context(
    settings: Settings,
    redis_url: str,
    app: Negotiations,
    open_views: OpenViews,
    full_audit: FullAudit | None = None,
) -> ApiContext:
    """Everything the HTTP routes share, from settings, a Redis URL, the application and the
    projections' view store."""
    from services.api.levels import read_levels

    ctx: ApiContext

    def levels() -> Levels | None:
        try:
            return read_levels(ctx)
        except REDIS_DOWN as e:
            ctx.redis_outage.down(e)
            return None
        except (RedisError, RecorderError, OSError):
            return None

    redis = connect(redis_url)
    ctx = ApiContext(
        settings=settings,
        app=app,
        redis=redis,
        async_redis=connect_async(redis_url),
        keys=KeyRing(settings.keys_path),
        limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst),
        metrics=Metrics(levels),
        pit=PointInTime(
            lambda nid, after: app.wires(nid, after_version=after),
            limit_bytes=int(settings.asof_cache_mb * 1024 * 1024),
        ),
        redis_outage=Outage("api", logging.getLogger("talkstream.api"), probe=redis.ping),
        open_views=open_views,
        full_audit=full_audit,
    )
    ctx.metrics.count_subscribers(lambda: ctx.feed.fanout.count)
    ctx.metrics.count_asof_cache(ctx.pit.stats)
    return ctx
