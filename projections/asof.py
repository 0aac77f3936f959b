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

from events import CORRECTIONS, PartialDate, RecordedEvent
from projections.negotiation import State, fold


def visible(
    event: RecordedEvent, *, as_of: PartialDate | None, known_at: PartialDate | None
) -> bool:
    if known_at is not None and not known_at.reaches(event.stamp.recorded_at):
        return False
    if event.type in CORRECTIONS or as_of is None:
        return True
    return as_of.reaches(event.draft.occurred_at.start)


def fold_at(
    events: Iterable[RecordedEvent],
    *,
    as_of: PartialDate | None = None,
    known_at: PartialDate | None = None,
) -> State:
    return fold(None, (e for e in events if visible(e, as_of=as_of, known_at=known_at)))
