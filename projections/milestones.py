"""Milestone helpers that need a "today" (kept out of the reducers, which know no clock)."""

from __future__ import annotations

from datetime import date, timedelta

from events import PartialDate, Precision
from projections.shapes import MilestoneEntry


def last_day(milestone: MilestoneEntry) -> date | None:
    """The last day a milestone may be met on, when its due names a date."""
    due = milestone.get("due") or {}
    text = due.get("date")
    if due.get("kind") not in ("on", "not_later_than") or not text:
        return None
    when = PartialDate.parse(text)
    if when.precision is Precision.INSTANT:
        return when.start.date()
    return (when.end - timedelta(days=1)).date()


def is_overdue(milestone: MilestoneEntry, today: date) -> bool:
    day = last_day(milestone)
    return milestone.get("status") == "scheduled" and day is not None and today > day
