"""Point-in-time folds: which events count for ``as_of`` (world time) and ``known_at``
(record time).

An event counts as of D when its ``occurred_at`` starts at or before the end of D (so
``as_of=2024-09`` includes everything dated in September 2024). It counts as known at K when it
was recorded at or before the end of K. Corrections and retractions change what we know, not
what happened, so only ``known_at`` applies to them. Both together answer "what did we know on
day K about what had happened by day D".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from events import CORRECTIONS, PartialDate
from projections.negotiation import Event, State, fold, wire_of


def visible(event: Event, *, as_of: PartialDate | None, known_at: PartialDate | None) -> bool:
    wire = wire_of(event)
    if known_at is not None and not known_at.reaches(_instant(wire["recorded_at"])):
        return False
    if wire["type"] in CORRECTIONS or as_of is None:
        return True
    return as_of.reaches(PartialDate.parse(wire["occurred_at"]).start)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fold_at(
    events: Iterable[Event],
    *,
    as_of: PartialDate | None = None,
    known_at: PartialDate | None = None,
) -> State:
    return fold(None, (e for e in events if visible(e, as_of=as_of, known_at=known_at)))
