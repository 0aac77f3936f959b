"""The Redis keys talkstream uses; every one starts with the configured prefix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from redis.typing import EncodableT, FieldT


@dataclass(frozen=True)
class Streams:
    prefix: str = "talkstream"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    @property
    def events_diverged(self) -> str:
        """Hash: the first position where the event stream and the store differ, recorded by
        the relay that found it; absent while they agree (services/relay/divergence.py)."""
        return f"{self.events}:diverged"

    def events_moved_aside(self, stamp: str) -> str:
        """Where ``relay --rebuild-stream`` keeps a diverged event stream (a UTC timestamp)."""
        return f"{self.events}:diverged:{stamp}"

    @property
    def intake(self) -> str:
        return f"{self.prefix}:intake"

    @property
    def intake_dead(self) -> str:
        return f"{self.prefix}:intake:dead"

    @property
    def intake_results(self) -> str:
        return f"{self.prefix}:intake:results"

    @property
    def intake_failures(self) -> str:
        """Hash: entry ID -> the last error of an entry that failed for a non-input reason."""
        return f"{self.prefix}:intake:failures"

    @property
    def intake_group(self) -> str:
        return f"{self.prefix}:recorders"

    @property
    def changes(self) -> str:
        return f"{self.prefix}:changes"

    @property
    def checkpoints(self) -> str:
        return f"{self.prefix}:checkpoints"


def as_fields(values: Mapping[str, str | bytes | int]) -> dict[FieldT, EncodableT]:
    """Typed XADD fields from a plain mapping."""
    return {k: v for k, v in values.items()}
