"""CLI-facing operations on the live projections in Redis: read, rebuild, dead letters."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from projections.live.apply import Applier
from projections.live.partitioned import PartitionedViews, open_views
from projections.live.rebuild import Progress, Rebuilt, rebuild
from projections.live.store import ViewStore
from projections.views import PROJECTIONS, STORED, Projection
from services.runtime.redis_server import redis_for
from services.settings import Settings
from services.wire.connect import connect
from services.wire.streams import Streams


def replay(
    settings: Settings, projection: Projection, progress: Progress, *, workers: int | None = None
) -> Rebuilt:
    """Rebuilds one projection (each partition in turn when there are several), folding in
    ``workers`` processes (default: one per usable CPU, for long streams)."""
    with redis_for(settings) as url:
        redis = connect(url)
        done = [
            rebuild(
                redis,
                ViewStore(redis, settings.prefix, projection.name, partition=part.partition),
                projection,
                part.events,
                progress=progress,
                workers=workers,
            )
            for part in Streams(settings.prefix).partitions(settings.partitions)
        ]
        if len(done) == 1:
            return done[0]
        views = PartitionedViews(redis, settings.prefix, projection.name, settings.partitions)
        return _together(done, views.fingerprint())


def _together(done: list[Rebuilt], fingerprint: str) -> Rebuilt:
    """The rebuilds of every partition as one: the fingerprint of all their states, and the
    replaced views' the same when each partition's was its rebuild's (else a digest of the
    partitions' own, which then differs)."""
    same = all(r.live_fingerprint == r.fingerprint for r in done)
    lives = [r.live_fingerprint for r in done]
    live = (
        fingerprint
        if same
        else None
        if None in lives
        else hashlib.sha256(",".join(str(f) for f in lives).encode()).hexdigest()
    )
    return Rebuilt(
        done[0].projection,
        ",".join(r.generation for r in done),
        max(r.position for r in done),
        fingerprint,
        live,
        sum(r.dropped_keys for r in done),
        max(r.passes for r in done),
    )


def read_view(settings: Settings, projection: Projection, negotiation_id: str) -> Any:
    with redis_for(settings) as url:
        store = open_views(settings.partitions)(connect(url), settings.prefix, projection.name)
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
        redis = connect(url)
        parked: dict[str, dict[str, Any]] = {name: {} for name in PROJECTIONS}
        for name in PROJECTIONS:
            for part in Streams(settings.prefix).partitions(settings.partitions):
                store = ViewStore(redis, settings.prefix, name, partition=part.partition)
                gen = store.generation()
                parked[name] |= {
                    nid: {**info, "waiting": len(store.waiting(gen, nid))}
                    for nid, info in store.parked(gen).items()
                }
        dead = int(redis.xlen(Streams(settings.prefix).intake_dead))
        return {"projections": parked, "intake_dead_letters": dead}


def retry(
    settings: Settings, projections: list[Projection], negotiation_id: str | None
) -> list[dict[str, Any]]:
    with redis_for(settings) as url:
        redis = connect(url)
        reports = []
        stored = {p.store: p for p in projections}  # a stored state is retried once
        for projection in (STORED.get(name, p) for name, p in stored.items()):
            for part in Streams(settings.prefix).partitions(settings.partitions):
                store = ViewStore(redis, settings.prefix, projection.name, partition=part.partition)
                applier = Applier(redis, store, projection, part.events)
                for r in applier.retry_parked(negotiation_id):
                    reports.append({"projection": projection.name, **r.__dict__})
        return reports
