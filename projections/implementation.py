"""The implementation score of each agreement over time (after the Peace Accords Matrix).

Each milestone has a dated series of degrees (0 not started, 1 minimal, 2 intermediate,
3 full): 0 when scheduled, then each ``MilestoneProgressed``, and 3 when met. An agreement's
score on a date is the mean degree, on that date, of its milestones scheduled by then. A
point counts on date D when its ``occurred_at`` starts at or before the end of D (the same
rule as ``as_of``, projections/asof.py), so the score is answerable as of any date: from the
series (``score_at``), or by folding as of that date.
"""

from __future__ import annotations

from typing import TypedDict

from events import PartialDate
from projections.shapes import DegreePoint, MilestoneEntry, View


class ScorePoint(TypedDict):
    occurred_at: str  # from this date on (until the next point)
    score: float  # mean degree, 0 to 3
    milestones: int  # how many milestones the mean is over


class AgreementScore(TypedDict):
    title: str
    score: float | None  # the latest; None before any milestone
    series: list[ScorePoint]


def degree_at(degrees: list[DegreePoint], when: PartialDate) -> int | None:
    """The milestone's degree on ``when`` (None: not yet scheduled then). The latest point
    in world time that counts on ``when``; on a tie, the later recorded. A milestone counts
    from its scheduling (its first point), as in a fold as of ``when``."""
    if not degrees or not _counts(degrees[0], when):
        return None
    counted = [
        (PartialDate.parse(p["occurred_at"]).sort_key(), i, p["degree"])
        for i, p in enumerate(degrees)
        if _counts(p, when)
    ]
    return max(counted)[2]


def _counts(point: DegreePoint, when: PartialDate) -> bool:
    return when.reaches(PartialDate.parse(point["occurred_at"]).start)


def score_at(milestones: list[MilestoneEntry], when: PartialDate) -> tuple[float, int] | None:
    """(mean degree, how many milestones) on ``when``; None when none was scheduled yet."""
    found = [d for m in milestones if (d := degree_at(m.get("degrees", []), when)) is not None]
    if not found:
        return None
    return round(sum(found) / len(found), 4), len(found)


def agreement_scores(view: View) -> dict[str, AgreementScore]:
    """Per agreement, its score at each date on which a degree of its milestones changed."""
    result: dict[str, AgreementScore] = {}
    for agreement_id, agreement in view["agreements"].items():
        milestones = [
            m for m in view["milestones"].values() if m.get("agreement_id") == agreement_id
        ]
        dates = {p["occurred_at"] for m in milestones for p in m.get("degrees", [])}
        series: list[ScorePoint] = []
        for text in sorted(dates, key=lambda d: PartialDate.parse(d).sort_key()):
            scored = score_at(milestones, PartialDate.parse(text))
            if scored is None:
                continue
            point: ScorePoint = {"occurred_at": text, "score": scored[0], "milestones": scored[1]}
            if not series or (series[-1]["score"], series[-1]["milestones"]) != scored:
                series.append(point)
        result[agreement_id] = {
            "title": agreement["title"],
            "score": series[-1]["score"] if series else None,
            "series": series,
        }
    return result
