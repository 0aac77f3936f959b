"""The divergence record: the first position where the event stream and the store differ, as
the relay that found it recorded it in Redis (``<prefix>:events:diverged``, a hash of plain
fields), so that every process of a deployment (relays, API instances, the repair) sees it
until ``talkstream relay --rebuild-stream`` clears it. The first divergence found stands until
the repair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from services.wire.entries import text


@dataclass(frozen=True)
class Divergence:
    """The first position where the stream and the store differ; a hash is None where that
    side has no event at the position."""

    position: int
    store_hash: str | None
    stream_hash: str | None
    store_position: int = 0  # the store's last position when found
    stream_position: int = 0  # the stream's last position when found
    detected_at: str = ""

    def describe(self) -> str:
        return (
            f"position {self.position} (store hash {self.store_hash or 'absent'}, "
            f"stream hash {self.stream_hash or 'absent'})"
        )

    def found(self, store_position: int, stream_position: int) -> Divergence:
        """This divergence with the two ends and the time it was found."""
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return Divergence(
            self.position, self.store_hash, self.stream_hash, store_position, stream_position, now
        )

    def encode(self) -> dict[str, str | int]:
        """Plain fields for a Redis hash (an absent hash is an empty string)."""
        return {k: "" if v is None else v for k, v in asdict(self).items()}

    @classmethod
    def decode(cls, fields: Mapping[bytes | str, bytes | str]) -> Divergence | None:
        """The record from its hash fields; None for none (an absent key reads as no fields)."""
        if not fields:
            return None
        values = {text(k): text(v) for k, v in fields.items()}
        return cls(
            position=int(values["position"]),
            store_hash=values.get("store_hash") or None,
            stream_hash=values.get("stream_hash") or None,
            store_position=int(values.get("store_position") or 0),
            stream_position=int(values.get("stream_position") or 0),
            detected_at=values.get("detected_at", ""),
        )


RECORD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


def record(redis: Redis, key: str, found: Divergence) -> Divergence:
    """Records ``found`` unless a divergence is recorded already; returns the recorded one
    (the first found stands until the repair)."""
    args: list[str | int] = []
    for name, value in found.encode().items():
        args += [name, value]
    if int(redis.eval(RECORD, 1, key, *args)):
        return found
    return recorded(redis, key) or found


def recorded(redis: Redis, key: str) -> Divergence | None:
    fields: Any = redis.hgetall(key)
    return Divergence.decode(fields)


def clear(redis: Redis, key: str) -> None:
    redis.delete(key)
