"""CLI-facing operations on the live projections in Redis: read, rebuild, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis import Redis

from projections.live.apply import Applier
from projections.live.rebuild import Progress, Rebuilt, rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS, STORED, Projection
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.streams import Streams


def replay(
    settings: Settings, projection: Projection, progress: Progress, *, workers: int | None = None
) -> Rebuilt:
    with redis_for(settings) as url:
        redis = Redis.from_url(url)
        store = ViewStore(redis, settings.prefix, projection.name)
        return rebuild(
            redis,
            store,
            projection,
            Streams(settings.prefix).events,
            progress=progress,
            workers=workers,
        )


def read_view(settings: Settings, projection: Projection, negotiation_id: str) -> Any:
    with redis_for(settings) as url:
        store = ViewStore(Redis.from_url(url), settings.prefix, projection.name)
        gen = store.generation()
        state = store.load(gen, [negotiation_id])[negotiation_id]
        if state is None:
            return {
                "projection": projection.name,
                "negotiation_id": negotiation_id,
                "position": store.tracked(gen),
                "view": None,
            }
        return {
            "projection": projection.name,
            "negotiation_id": negotiation_id,
            "position": store.tracked(gen),
            "view": projection.render(state, datetime.now(UTC).date()),
        }


def dead_letters(settings: Settings) -> dict[str, Any]:
    with redis_for(settings) as url:
        redis = Redis.from_url(url)
        parked = {}
        for name in PROJECTIONS:
            store = ViewStore(redis, settings.prefix, name)
            gen = store.generation()
            parked[name] = {
                nid: {**info, "waiting": len(store.waiting(gen, nid))}
                for nid, info in store.parked(gen).items()
            }
        dead = int(redis.xlen(Streams(settings.prefix).intake_dead))
        return {"projections": parked, "intake_dead_letters": dead}


def retry(
    settings: Settings, projections: list[Projection], negotiation_id: str | None
) -> list[dict[str, Any]]:
    with redis_for(settings) as url:
        redis = Redis.from_url(url)
        events = Streams(settings.prefix).events
        reports = []
        stored = {p.store: p for p in projections}  # a stored state is retried once
        for projection in (STORED.get(name, p) for name, p in stored.items()):
            store = ViewStore(redis, settings.prefix, projection.name)
            applier = Applier(redis, store, projection, events)
            for r in applier.retry_parked(negotiation_id):
                reports.append({"projection": projection.name, **r.__dict__})
        return reports
