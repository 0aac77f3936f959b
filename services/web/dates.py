"""World dates as a reader says them, at the precision they were given: "2024", "Sep 2025",
"22 Jul 2024", "22–23 Jul 2024", "30 Jul – 2 Aug 2024"."""

from __future__ import annotations

from datetime import datetime

from events import PartialDate, Precision

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def shown(occurred_at: str, occurred_until: str | None = None) -> str:
    """A date, or a span when ``occurred_until`` is given, without repeating shared parts."""
    start = PartialDate.parse(occurred_at)
    if occurred_until is None or occurred_until == occurred_at:
        return _one(start)
    end = PartialDate.parse(occurred_until)
    a, b = start.start, end.start
    if start.precision is Precision.DAY and end.precision is Precision.DAY:
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.day}–{b.day} {MONTHS[b.month - 1]} {b.year}"
        if a.year == b.year:
            return f"{a.day} {MONTHS[a.month - 1]} – {b.day} {MONTHS[b.month - 1]} {b.year}"
    if start.precision is Precision.MONTH and end.precision is Precision.MONTH and a.year == b.year:
        return f"{MONTHS[a.month - 1]}–{MONTHS[b.month - 1]} {b.year}"
    if start.precision is Precision.YEAR and end.precision is Precision.YEAR:
        return f"{a.year}–{b.year}"
    return f"{_one(start)} – {_one(end)}"


def _one(when: PartialDate) -> str:
    t = when.start
    if when.precision is Precision.YEAR:
        return str(t.year)
    if when.precision is Precision.MONTH:
        return f"{MONTHS[t.month - 1]} {t.year}"
    if when.precision is Precision.DAY:
        return f"{t.day} {MONTHS[t.month - 1]} {t.year}"
    return f"{t.day} {MONTHS[t.month - 1]} {t.year} {t:%H:%M} UTC"


def month_of(occurred_at: str) -> str:
    """The timeline group of a date: its month, or its year when it names no month."""
    when = PartialDate.parse(occurred_at)
    if when.precision is Precision.YEAR:
        return str(when.start.year)
    return f"{MONTHS[when.start.month - 1]} {when.start.year}"


def instant(recorded_at: str) -> str:
    """A server timestamp, to the second, in UTC."""
    t = datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
    return f"{t:%Y-%m-%d %H:%M:%S} UTC"
