"""What the HTTP API reads of a projection's states in Redis.

The projection workers own that storage (projections/live/store.py); the API depends only on
this reading surface, and the composition hands it the store to read through
(``build_context``), so the two adapters never import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from projections.negotiation import State


class ServedHead(Protocol):
    """Where the served generation stands: its name, tracked position and write stamp."""

    @property
    def gen(self) -> str: ...
    @property
    def tracked(self) -> int: ...
    @property
    def stamp(self) -> int: ...


class Views(Protocol):
    """One projection's stored states, as served (a generation, its tracked position and a
    state per negotiation)."""

    @property
    def name(self) -> str: ...

    def generation(self) -> str: ...

    def served(self) -> ServedHead | None: ...

    async def served_async(self, redis: AsyncRedis) -> ServedHead | None: ...

    def tracked(self, gen: str) -> int: ...

    def tracked_and_head(self, gen: str, negotiation_id: str) -> tuple[int, bytes | None]: ...

    def heads(self, gen: str, negotiation_ids: list[str]) -> dict[str, dict[str, Any] | None]: ...

    def load(self, gen: str, negotiation_ids: list[str]) -> dict[str, State | None]: ...

    def negotiation_ids(self, gen: str) -> list[str]: ...

    def parked(self, gen: str) -> dict[str, dict[str, Any]]: ...


# (Redis client, key prefix, projection name) -> that projection's views
OpenViews = Callable[[Redis, str, str], Views]
