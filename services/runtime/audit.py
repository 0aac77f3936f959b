"""The full audit put together from settings: the store pass, and beside it the event stream
and every live view read from Redis (and the log's checkpoints). The CLI runs it; the API is
handed it (``build_api_context``), so neither reaches into the other's parts."""

from __future__ import annotations

from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError

from projections.live.partitioned import open_views
from projections.views import PROJECTIONS
from services.audit.log import LogCheck
from services.audit.stream import StreamCheck
from services.audit.verify import Part, verify_all
from services.audit.views import ViewCheck
from services.recorder.application import Negotiations
from services.recorder.audit import AuditReport
from services.recorder.exceptions import LedgerError
from services.recorder.ledger import load_verifier, open_ledger
from services.settings import Settings
from services.wire.streams import Streams

REDIS_PARTS = ("stream", *(f"view {name}" for name in PROJECTIONS))


def redis_parts(settings: Settings, redis: Redis) -> list[Part]:
    """The stream and view checks (reading where each view stands first)."""
    streams = Streams(settings.prefix).partitions(settings.partitions)
    parts: list[Part] = [StreamCheck(redis, [s.events for s in streams])]
    opened = open_views(settings.partitions)
    for projection in PROJECTIONS.values():
        parts.append(ViewCheck(projection, opened(redis, settings.prefix, projection.name)))
    return parts


def full_audit(
    settings: Settings,
    app: Negotiations,
    redis: Redis | None,
    *,
    progress: Callable[[int], None] | None = None,
) -> AuditReport:
    """Everything checked; the Redis parts are skipped, with the reason, when Redis is not
    reachable (``redis`` None, or failing)."""
    parts: list[Part] = []
    skipped: dict[str, str] = {}
    try:
        parts.append(LogCheck(open_ledger(app, settings), [load_verifier(settings)]))
    except LedgerError as e:
        skipped["log"] = f"{e.code}: {e}"
    if redis is None:
        skipped |= dict.fromkeys(REDIS_PARTS, "Redis not reachable")
    else:
        try:
            parts.extend(redis_parts(settings, redis))
        except RedisError as e:
            why = f"Redis unreachable ({' '.join(str(e).split())})"
            skipped |= dict.fromkeys(REDIS_PARTS, why)
    return verify_all(app, parts, skipped=skipped, progress=progress)
