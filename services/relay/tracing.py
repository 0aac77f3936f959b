"""The relay's tracing hook: a ``relay.publish`` span per published entry that has a kept
trace context, and that context handed on to the projections (services/wire/tracing.py)."""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis

from services.wire import tracing

ARGS_PER_ENTRY = 6  # the relay's script arguments per entry; the position is the fourth


def relayed(
    redis: Redis, stream: str, args: Sequence[bytes | str | int], *, kept_under: str | None = None
) -> None:
    """``kept_under``: the stream the writes kept their contexts beside, when they were
    published to another (a partition's stream; the writers do not know the partition)."""
    if not tracing.enabled():
        return
    positions = [int(args[i + 3]) for i in range(0, len(args), ARGS_PER_ENTRY)]
    for position, parent in tracing.contexts(redis, kept_under or stream, positions).items():
        with tracing.continued("relay.publish", parent, {"talkstream.position": position}):
            tracing.remember(redis, stream, [position])
