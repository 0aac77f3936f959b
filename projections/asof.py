"""Point-in-time folds: which events count for ``as_of`` (world time) and ``known_at``
(record time).

An event counts as of D when its ``occurred_at`` starts at or before the end of D (so
``as_of=2024-09`` includes everything dated in September 2024). It counts as known at K when it
was recorded at or before the end of K. Corrections and retractions change what we know, not
what happened, so only ``known_at`` applies to them. Both together answer "what did we know on
day K about what had happened by day D".

A point before the negotiation existed (known at a time before its first record, or as of a
date before its opening) has no state to show: ``too_early`` says why, so that readers answer
that instead of an empty state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TooEarly:
    """Why there is nothing to show at a point in time (a stable code, a message, details)."""

    code: str
    message: str
    details: dict[str, str]


def too_early(
    opening: Event, *, as_of: PartialDate | None, known_at: PartialDate | None
) -> TooEarly | None:
    """None when ``opening`` (the negotiation's first event) counts at this point in time."""
    wire = wire_of(opening)
    nid = wire["negotiation_id"]
    first = wire["recorded_at"]
    if known_at is not None and not known_at.reaches(_instant(first)):
        return TooEarly(
            "not_known_yet",
            f"nothing about negotiation {nid!r} was known at {known_at}: "
            f"its first event was recorded at {first}",
            {"negotiation_id": nid, "known_at": str(known_at), "first_recorded_at": first},
        )
    opened = wire["occurred_at"]
    if as_of is not None and not as_of.reaches(PartialDate.parse(opened).start):
        return TooEarly(
            "not_opened_yet",
            f"negotiation {nid!r} had not opened as of {as_of}: it opened {opened}",
            {"negotiation_id": nid, "as_of": str(as_of), "opened_at": opened},
        )
    return None
