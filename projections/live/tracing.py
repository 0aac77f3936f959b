"""The projection workers' tracing hook: a ``projection.apply`` span per applied entry that
has a kept trace context (services/wire/tracing.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis import Redis

from services.wire import tracing


def applied(redis: Redis, stream: str, projection: str, wires: Iterable[dict[str, Any]]) -> None:
    if not tracing.enabled():
        return
    by_position = {int(w["position"]): w for w in wires}
    for position, parent in tracing.contexts(redis, stream, list(by_position)).items():
        wire = by_position[position]
        attributes: dict[str, str | int] = {
            "talkstream.projection": projection,
            "talkstream.position": position,
            "talkstream.negotiation_id": str(wire["negotiation_id"]),
            **_ids(wire),
        }
        with tracing.continued("projection.apply", parent, attributes):
            pass


def _ids(wire: dict[str, Any]) -> dict[str, str]:
    return {
        f"talkstream.{name}": str(wire[name])
        for name in ("correlation_id", "causation_id")
        if wire.get(name) is not None
    }
