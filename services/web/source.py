"""What the page reads, and from whom: the composition (``services/runtime/page.py``) answers
this protocol with the API's own code (its keys, roles and rate limits, its live views and its
point-in-time folds), so the page keeps no second copy of any state and imports no adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from events import PartialDate
from events.exceptions import TalkstreamError
from projections.shapes import State


@dataclass(frozen=True)
class Visitor:
    """Who is reading the page: a key's principal, or anonymous (``role`` None)."""

    name: str
    role: str | None
    may_audit: bool


class PageSource(Protocol):
    def visitor(self, key: str | None, host: str | None) -> Visitor:
        """The reader behind ``key`` (None: anonymous), admitted to read as the API admits
        it, rate limit included; raises the API's error otherwise."""
        ...

    def status(self, error: TalkstreamError) -> int:
        """The HTTP status the API answers ``error`` with."""
        ...

    def states(self) -> list[State]:
        """Every negotiation's live state, by id."""
        ...

    def state(
        self, negotiation_id: str, *, as_of: PartialDate | None, known_at: PartialDate | None
    ) -> State:
        """The negotiation as the API's ``GET /v1/negotiations/{id}`` reads it: the live view
        without a point in time (a fold of the store until the views have it), else the
        point-in-time fold; raises when the point is before the negotiation."""
        ...

    def fold(
        self, negotiation_id: str, *, as_of: PartialDate | None, known_at: PartialDate | None
    ) -> State:
        """The point-in-time fold as the API's diff reads it (empty before the opening)."""
        ...

    def last_position(self) -> int:
        """The store's last position (0: nothing stored)."""
        ...
