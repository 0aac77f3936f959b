"""One projection's views read across partitions (``TALKSTREAM_PARTITIONS`` > 1): each
partition keeps its own generation, tracked position and states (``ViewStore`` on the
partition's keys); readers see them as one store.

- A negotiation's state is read from its partition (``partition_of``).
- The generation is every partition's, joined with commas; the write stamp is their sum (it
  moves whenever any partition's moves).
- The tracked position is where every partition is known to stand in the store's order: a
  partition whose view has applied the last entry of its stream stands where the relay says
  that stream is complete (``<stream>:through``), else at its own tracked position. The lowest
  of these is reported, so waiting for a position never returns before its event is applied.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from projections.live.store import SERVED_FIELDS, Served, ViewStore, fingerprint_paged
from projections.negotiation import State
from services.wire.entries import position_of, text
from services.wire.partitions import partition_of
from services.wire.streams import Streams


class PartitionedViews:
    def __init__(self, redis: Redis, prefix: str, name: str, partitions: int) -> None:
        self.redis = redis
        self.name = name
        self.count = partitions
        self.streams = Streams(prefix).partitions(partitions)
        self.parts = [ViewStore(redis, prefix, name, partition=s.partition) for s in self.streams]

    def generation(self) -> str:
        pipe = self.redis.pipeline(transaction=False)
        for part in self.parts:
            pipe.get(part.gen_key)
        return ",".join(text(g) if g is not None else "0" for g in pipe.execute())

    def _gens(self, gen: str) -> list[str]:
        return gen.split(",")

    def served(self) -> Served | None:
        pipe = self.redis.pipeline(transaction=False)
        self._served_reads(pipe)
        return self._served_from(pipe.execute())

    async def served_async(self, redis: AsyncRedis) -> Served | None:
        """``served``, read through ``redis`` (an asyncio client of the same server)."""
        pipe: Any = redis.pipeline(transaction=False)
        self._served_reads(pipe)
        return self._served_from(await pipe.execute())

    def _served_reads(self, pipe: Any) -> None:
        for part in self.parts:
            pipe.hmget(part.keys.served, SERVED_FIELDS)
        self._ends(pipe)

    def _served_from(self, replies: list[Any]) -> Served | None:
        heads = replies[: self.count]
        if any(v is None for head in heads for v in head):
            return None
        tracked = [int(head[1]) for head in heads]
        return Served(
            ",".join(text(head[0]) for head in heads),
            self._standing(tracked, replies[self.count :]),
            sum(int(head[2]) for head in heads),
        )

    def tracked(self, gen: str) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for part, g in zip(self.parts, self._gens(gen), strict=True):
            pipe.get(part.keys.tracked(g))
        self._ends(pipe)
        replies: list[Any] = pipe.execute()
        tracked = [int(t) if t is not None else 0 for t in replies[: self.count]]
        return self._standing(tracked, replies[self.count :])

    def _ends(self, pipe: Any) -> None:
        for streams in self.streams:
            pipe.xrevrange(streams.events, count=1)
            pipe.get(streams.relayed_through)

    def _standing(self, tracked: list[int], ends: list[Any]) -> int:
        standing = []
        for k, position in enumerate(tracked):
            top, through = ends[2 * k], ends[2 * k + 1]
            last = position_of(top[0][0]) if top else 0
            complete = int(text(through).partition(" ")[0]) if through is not None else last
            standing.append(max(complete, position) if position >= last else position)
        return min(standing)

    def _part(self, gen: str, negotiation_id: str) -> tuple[ViewStore, str]:
        k = partition_of(negotiation_id, self.count)
        return self.parts[k], self._gens(gen)[k]

    def tracked_and_head(self, gen: str, negotiation_id: str) -> tuple[int, bytes | None]:
        part, g = self._part(gen, negotiation_id)
        _, head = part.tracked_and_head(g, negotiation_id)
        return self.tracked(gen), head

    def _grouped(self, negotiation_ids: list[str]) -> dict[int, list[str]]:
        groups: dict[int, list[str]] = defaultdict(list)
        for nid in negotiation_ids:
            groups[partition_of(nid, self.count)].append(nid)
        return groups

    def heads(self, gen: str, negotiation_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        gens = self._gens(gen)
        found: dict[str, dict[str, Any] | None] = {}
        for k, nids in self._grouped(negotiation_ids).items():
            found.update(self.parts[k].heads(gens[k], nids))
        return {nid: found[nid] for nid in negotiation_ids}

    def load(self, gen: str, negotiation_ids: list[str]) -> dict[str, State | None]:
        gens = self._gens(gen)
        found: dict[str, State | None] = {}
        for k, nids in self._grouped(negotiation_ids).items():
            found.update(self.parts[k].load(gens[k], nids))
        return {nid: found[nid] for nid in negotiation_ids}

    def negotiation_ids(self, gen: str) -> list[str]:
        ids: list[str] = []
        for part, g in zip(self.parts, self._gens(gen), strict=True):
            ids += part.negotiation_ids(g)
        return sorted(ids)

    def parked(self, gen: str) -> dict[str, dict[str, Any]]:
        parked: dict[str, dict[str, Any]] = {}
        for part, g in zip(self.parts, self._gens(gen), strict=True):
            parked.update(part.parked(g))
        return parked

    def fingerprint(self, gen: str | None = None) -> str:
        """The fingerprint of every partition's states together: equal to one store's
        fingerprint of the same states (``fingerprint_of``)."""
        gen = gen or self.generation()
        return fingerprint_paged(self.negotiation_ids(gen), partial(self.load, gen))


def open_views(partitions: int) -> Any:
    """What the API opens a projection's views with: one store, or all partitions as one."""

    def opened(redis: Redis, prefix: str, name: str) -> ViewStore | PartitionedViews:
        if partitions == 1:
            return ViewStore(redis, prefix, name)
        return PartitionedViews(redis, prefix, name, partitions)

    return opened
