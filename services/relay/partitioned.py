"""The relay with several partitions (``TALKSTREAM_PARTITIONS`` > 1): each batch read from the
store is split by ``partition_of(negotiation_id)`` and sent to each partition's stream with the
same XADD_BATCH script, one call per partition (all of one call's keys share the partition's
hash tag, so it runs on Redis Cluster). Entry IDs stay the store's global positions.

Where to resume: after a batch reached every partition, the relay writes to each partition
``<stream>:through`` = the batch's last position and its hash. It resumes from the lowest of
them (a relay that died between two partitions' calls left that one behind; the others then
receive duplicates, which the script counts and skips), and checks the store's hash there as
the single-stream relay does. Each call is guarded by the end this relay last saw on that
partition's stream, so a racing relay makes it read the ends again rather than leave a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis

from services.recorder.application import Negotiations
from services.relay import tracing
from services.relay.exceptions import StreamDiverged
from services.relay.lease import Lease
from services.relay.relay import Batch, Relay, StreamEnd
from services.wire.divergence import Divergence
from services.wire.entries import entry_id, position_of, text
from services.wire.partitions import partition_of
from services.wire.streams import Streams

ARGS_PER_ENTRY = 6


class PartitionedRelay(Relay):
    def __init__(
        self,
        app: Negotiations,
        redis: Redis,
        *,
        prefix: str,
        partitions: int,
        batch: int = 500,
        poll_interval: float = 0.5,
        lease: Lease | None = None,
    ) -> None:
        streams = Streams(prefix)
        super().__init__(
            app,
            redis,
            stream=streams.events,
            batch=batch,
            poll_interval=poll_interval,
            diverged_key=streams.events_diverged,
            lease=lease,
        )
        self.parts = streams.partitions(partitions)
        self.ends = [0] * partitions  # each partition stream's last position, as last seen

    def stream_end(self) -> StreamEnd:
        """Where every partition is complete: the lowest ``through`` mark (0: start over)."""
        pipe = self.redis.pipeline(transaction=False)
        for part in self.parts:
            pipe.xrevrange(part.events, count=1)
            pipe.get(part.relayed_through)
        replies: list[Any] = pipe.execute()
        marks: list[StreamEnd] = []
        for k in range(len(self.parts)):
            top, through = replies[2 * k], replies[2 * k + 1]
            self.ends[k] = position_of(top[0][0]) if top else 0
            marks.append(_mark(through))
        return min(marks, key=lambda m: m.position)

    def send(self, batch: Batch, *, after: int | None = None) -> bool:
        """XADDs each partition's share of the batch (guarded by the partition's last seen end
        when ``after`` is given), then moves every partition's ``through`` mark."""
        shares = self._shares(batch)
        for k, args in shares.items():
            expected = entry_id(self.ends[k]) if after is not None else ""
            stream = self.parts[k].events
            reply = self.xadd(stream, expected, args)
            outcome, duplicates = int(reply[0]), int(reply[1])
            if outcome == -1:
                return False
            self.stats.duplicates += duplicates
            if outcome == -2:
                position, there = int(reply[2]), text(reply[3]) or None
                seen = Divergence(position, batch.hash_at(position), there)
                raise StreamDiverged(self._locate(seen))
            self.stats.published += outcome
            self.ends[k] = int(args[-3])
            tracing.relayed(self.redis, stream, args, kept_under=self.stream)
        pipe = self.redis.pipeline(transaction=False)
        for part in self.parts:
            pipe.set(part.relayed_through, f"{batch.last} {batch.last_hash}")
        pipe.execute()
        return True

    def begin_send(self, batch: Batch, *, after: int) -> Callable[[], bool]:
        """``send`` whole, answered at once: one call per partition, then the marks (the next
        batch is read after them)."""
        added = self.send(batch, after=after)
        return lambda: added

    def _shares(self, batch: Batch) -> dict[int, list[bytes | str | int]]:
        shares: dict[int, list[bytes | str | int]] = {}
        count = len(self.parts)
        for at in range(0, len(batch.args), ARGS_PER_ENTRY):
            k = partition_of(str(batch.args[at + 2]), count)
            shares.setdefault(k, []).extend(batch.args[at : at + ARGS_PER_ENTRY])
        return shares

    def _locate(self, seen: Divergence) -> Divergence:
        """The first difference found, as found (the run's start is searched on one stream
        only); ``relay --rebuild-stream`` repairs every partition alike."""
        return seen.found(self.app.max_position(), max(self.ends))


def _mark(raw: bytes | None) -> StreamEnd:
    if raw is None:
        return StreamEnd(0, None)
    position, _, hash = text(raw).partition(" ")
    return StreamEnd(int(position), hash or None)


def build(
    app: Negotiations,
    redis: Redis,
    *,
    prefix: str,
    partitions: int,
    batch: int = 500,
    poll_interval: float = 0.5,
    lease: Lease | None = None,
) -> Relay:
    """The relay for this many partitions: the single-stream one for 1 (today's names)."""
    if partitions == 1:
        streams = Streams(prefix)
        return Relay(
            app,
            redis,
            stream=streams.events,
            batch=batch,
            poll_interval=poll_interval,
            diverged_key=streams.events_diverged,
            lease=lease,
        )
    return PartitionedRelay(
        app,
        redis,
        prefix=prefix,
        partitions=partitions,
        batch=batch,
        poll_interval=poll_interval,
        lease=lease,
    )
