"""The commitments' chart: one track per milestone, its outcome, a today line, text escaped."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from services.web.chart import milestone_chart


def row(mid: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "milestone_id": mid,
        "description": f"Milestone {mid}",
        "due": {"kind": "not_later_than", "date": "2025-09-30"},
        "due_text": "by 30 Sep 2025",
        "last_day": "2025-09-30",
        "state": state,
        "scheduled_at": "2024-09-27",
        "settled_at": None,
        **extra,
    }


def test_no_milestone_draws_nothing() -> None:
    assert str(milestone_chart([], date(2025, 1, 1), "t")) == ""


def test_each_milestone_has_a_track_with_its_state_and_today_is_a_line() -> None:
    svg = str(
        milestone_chart(
            [
                row("a", "overdue"),
                row("b", "met", settled_at="2025-06-01"),
                row(
                    "c",
                    "scheduled",
                    due={"kind": "on", "date": "2026-01-15"},
                    last_day="2026-01-15",
                ),
            ],
            date(2025, 11, 1),
            "Milestones",
        )
    )
    assert svg.startswith('<svg class="chart" viewBox="0 0 360 ')
    assert [m for m in re.findall(r'class="track st-(\w+)"', svg)] == [
        "overdue",
        "met",
        "scheduled",
    ]
    assert svg.count('class="span"') == 2  # the not-later-than ranges; "on" is a point
    assert svg.count('class="outcome"') == 1
    assert svg.count('class="today"') == 1 and ">today</text>" in svg
    assert ">2025</text>" in svg and ">2026</text>" in svg  # year lines


def test_the_today_line_sits_between_the_first_and_last_day() -> None:
    svg = str(milestone_chart([row("a", "scheduled")], date(2025, 3, 13), "t"))
    x = float(re.search(r'<line class="today" x1="([\d.]+)"', svg)[1])  # type: ignore[index]
    assert 8 < x < 352


def test_text_is_escaped() -> None:
    svg = str(
        milestone_chart(
            [row("<b>", "met", description="<script>x</script>")], date(2025, 1, 1), "a & b"
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg
