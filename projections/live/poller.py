"""Projection workers without FastStream, for Redis Cluster (FastStream's Redis broker speaks
to one server): each applier of the chosen partitions reads its partition stream from its
tracked position itself (as it does under FastStream; the consumer groups only wake it), so a
loop that applies what is new, and waits ``interval`` when nothing was, serves the same views.
Several processes may split the partitions; two on one partition are safe (a commit is a
compare-and-set on the tracked position) but do the work twice.

Redis outages: one log line when Redis goes and one when it is back; after it is back every
applier forgets what its last commit left (Redis may have lost it) and catches up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from projections.live.apply import Applier
from projections.live.worker import partition_appliers
from projections.views import PROJECTIONS, Projection

log = logging.getLogger("talkstream.projections")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class Poller:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        projections: Mapping[str, Projection] = PROJECTIONS,
        partitions: Sequence[int],
        count: int,
        interval: float = 0.2,
    ) -> None:
        keyed = partition_appliers(
            redis, prefix, projections=projections, partitions=partitions, count=count
        )
        self.workers: dict[str, Applier] = {f"{s}@{k}": a for (s, k), a in keyed.items()}
        self.interval = interval
        self._reached = dict.fromkeys(self.workers, -1)

    def step(self) -> bool:
        """Applies what each partition stream holds beyond its view; True if any moved."""
        moved = False
        for label, applier in self.workers.items():
            applier.follow_switch()
            reached = applier.apply_through()
            moved = moved or reached != self._reached[label]
            self._reached[label] = reached
        return moved

    def run(self, stop: threading.Event) -> None:
        down = False
        while not stop.is_set():
            try:
                moved = self.step()
            except REDIS_DOWN as e:
                if not down:
                    log.warning("projections: Redis unavailable (%s); retrying", e)
                down = True
                stop.wait(1.0)
                continue
            if down:
                log.info("projections: Redis is back; catching up")
                for applier in self.workers.values():
                    applier.forget()
                down = False
                continue
            if not moved:
                stop.wait(self.interval)
