"""Source grades on the read side: the Admiralty rating of each source, and the read filters
by grade (``min_reliability``) and by verification."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from events.parts import RELIABILITY_ORDER, Reliability
from events.types import Verification
from events.wire import SourceWire


def grade_of(source: SourceWire) -> str | None:
    """``B2``; ``B`` or ``2`` when only one half is given; None for an ungraded source."""
    text = f"{source.get('reliability') or ''}{source.get('credibility') or ''}"
    return text or None


def source_grades(sources: Iterable[SourceWire]) -> list[str]:
    return [grade for s in sources if (grade := grade_of(s)) is not None]


def reliable_enough(sources: Iterable[SourceWire], minimum: Reliability) -> bool:
    """Whether at least one source is graded ``minimum`` or better (A is best); ungraded
    sources never pass a minimum."""
    bar = RELIABILITY_ORDER.index(minimum)
    return any(
        (r := s.get("reliability")) is not None and RELIABILITY_ORDER.index(r) <= bar
        for s in sources
    )


def passes(
    sources: Iterable[SourceWire],
    verification: Verification,
    *,
    min_reliability: Reliability | None = None,
    verifications: Sequence[Verification] = (),
) -> bool:
    """Whether an event with these sources and this verification passes the read filters."""
    if verifications and verification not in verifications:
        return False
    return min_reliability is None or reliable_enough(sources, min_reliability)
