"""World dates shown at the precision they were given."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.web.dates import month_of, shown


@pytest.mark.parametrize(
    ("occurred_at", "until", "text"),
    [
        ("2024", None, "2024"),
        ("2025-09", None, "Sep 2025"),
        ("2024-07-22", None, "22 Jul 2024"),
        ("2024-07-22", "2024-07-23", "22–23 Jul 2024"),
        ("2024-07-30", "2024-08-02", "30 Jul – 2 Aug 2024"),
        ("2024-12-30", "2025-01-02", "30 Dec 2024 – 2 Jan 2025"),
        ("2024-07", "2024-09", "Jul–Sep 2024"),
        ("2023", "2024", "2023–2024"),
        ("2024-07", "2024-08-02", "Jul 2024 – 2 Aug 2024"),
        ("2024-09-27T14:05:00+02:00", None, "27 Sep 2024 12:05 UTC"),
        ("2024-07-22", "2024-07-22", "22 Jul 2024"),
    ],
)
def test_a_date_is_shown_at_its_precision(occurred_at: str, until: str | None, text: str) -> None:
    assert shown(occurred_at, until) == text


@pytest.mark.parametrize(
    ("occurred_at", "group"),
    [("2024", "2024"), ("2024-07", "Jul 2024"), ("2024-07-22", "Jul 2024")],
)
def test_the_timeline_groups_by_month_or_by_year(occurred_at: str, group: str) -> None:
    assert month_of(occurred_at) == group


@given(st.dates(), st.integers(min_value=0, max_value=800))
def test_a_span_of_days_names_both_days_and_the_later_year(day: object, length: int) -> None:
    from datetime import date, timedelta

    assert isinstance(day, date)
    end = day + timedelta(days=length)
    text = shown(day.isoformat(), end.isoformat())
    assert str(end.year) in text and str(end.day) in text and str(day.day) in text
    assert text.endswith(str(end.year))
