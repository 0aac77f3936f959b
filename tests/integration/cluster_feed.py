"""Changes announced on a Redis Cluster, for the tests of the change feed and the webhooks
there: notes recorded, relayed to the partitions and applied by the pollers, so that every
partition's view commits announce their changes in the partition's own changes stream."""

from __future__ import annotations

from typing import Any

from redis import Redis

from projections.live.poller import Poller
from services.recorder.application import Negotiations
from services.relay import partitioned
from services.wire.feed import Vector, change_id, parse_entry_id
from services.wire.streams import Streams
from tests.integration.projections.support import write_notes


def announce(
    app: Negotiations, redis: Redis, prefix: str, partitions: int, nids: list[str], notes: int
) -> None:
    """Opens ``nids``, records ``notes`` notes over them, relays and applies everything."""
    write_notes(app, nids, notes, 5)
    partitioned.build(app, redis, prefix=prefix, partitions=partitions).catch_up()
    poller = Poller(redis, prefix, partitions=range(partitions), count=partitions)
    while poller.step():
        pass


def announced(
    redis: Redis, prefix: str, partitions: int, after: Vector | None = None
) -> dict[str, dict[str, Any]]:
    """Every change in the partitions' streams (after ``after``), by its id ``<k>-<entry>``."""
    found: dict[str, dict[str, Any]] = {}
    start = after or Vector.start(partitions)
    parts = Streams(prefix).partitions(partitions)
    for k, (part, at) in enumerate(zip(parts, start.entries, strict=True)):
        entries: Any = redis.xrange(part.partition_changes, min=f"({at[0]}-{at[1]}")
        for entry_id, fields in entries:
            change = {key.decode(): value.decode() for key, value in fields.items()}
            found[change_id(k, parse_entry_id(entry_id.decode()))] = change
    return found
