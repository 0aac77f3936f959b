from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import PartialDate, Precision
from events.exceptions import InvalidPartialDate

P = PartialDate.parse


def utc(*parts: int) -> datetime:
    """utc(2024, 9, 27, 14) is 2024-09-27T14:00:00Z."""
    return datetime(*parts).replace(tzinfo=UTC)  # type: ignore[arg-type]


# --- parsing each precision -------------------------------------------------------------------


def test_year_covers_the_whole_year() -> None:
    d = P("2024")
    assert (d.precision, d.start, d.end) == (Precision.YEAR, utc(2024, 1, 1), utc(2025, 1, 1))


def test_month_covers_the_whole_month() -> None:
    d = P("2024-09")
    assert (d.precision, d.start, d.end) == (Precision.MONTH, utc(2024, 9, 1), utc(2024, 10, 1))


def test_december_ends_at_the_next_new_year() -> None:
    assert P("2024-12").end == utc(2025, 1, 1)


def test_day_covers_one_utc_day() -> None:
    d = P("2024-09-27")
    assert (d.precision, d.start, d.end) == (Precision.DAY, utc(2024, 9, 27), utc(2024, 9, 28))


def test_leap_day_is_a_valid_day() -> None:
    assert P("2024-02-29").start == utc(2024, 2, 29)


def test_timestamp_with_z_is_a_single_utc_instant() -> None:
    d = P("2024-09-27T14:00:00Z")
    assert d.precision is Precision.INSTANT
    assert d.start == d.end == utc(2024, 9, 27, 14)


def test_timestamp_with_offset_is_converted_to_utc_but_keeps_its_text() -> None:
    d = P("2024-09-27T14:00:00+03:00")
    assert d.start == utc(2024, 9, 27, 11)
    assert str(d) == "2024-09-27T14:00:00+03:00"


def test_timestamp_may_omit_seconds_or_carry_a_fraction() -> None:
    assert P("2024-09-27T14:00Z").start == utc(2024, 9, 27, 14)
    assert P("2024-09-27T14:00:00.5Z").start == utc(2024, 9, 27, 14, 0, 0, 500000)


@pytest.mark.parametrize(
    "text",
    [
        "2024-13",  # no month 13
        "2024-00",
        "2024-02-30",  # no such day
        "2023-02-29",  # not a leap year
        "24-09",  # two-digit year
        "2024-9",  # one-digit month
        "2024-09-7",
        "2024-09-27T14:00:00",  # timestamp without a zone
        "2024-09-27 14:00:00Z",
        "2024-09-27T25:00Z",
        "",
        "September 2024",
    ],
)
def test_malformed_or_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidPartialDate):
        P(text)


@pytest.mark.parametrize("value", [2024, 2024.0, None, date(2024, 9, 27), b"2024"])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(InvalidPartialDate, match="expected a string"):
        P(value)  # type: ignore[arg-type]


def test_invalid_partial_date_is_a_value_error() -> None:
    assert issubclass(InvalidPartialDate, ValueError)


@pytest.mark.parametrize(
    "text", ["9999-12", "9999-12-31", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30+01:00"]
)
def test_dates_at_the_edge_of_the_calendar_are_refused_cleanly(text: str) -> None:
    with pytest.raises(InvalidPartialDate):
        P(text)


@pytest.mark.parametrize("text", ["٢٠٢٤", "２０２４-09"])
def test_non_ascii_digits_are_refused(text: str) -> None:
    with pytest.raises(InvalidPartialDate):
        P(text)


# --- ordering and equality --------------------------------------------------------------------


def test_documented_ordering_holds() -> None:
    texts = ["2024", "2024-09", "2024-09-01", "2024-09-01T00:00:00Z", "2024-09-27"]
    dates = [P(t) for t in texts]
    assert all(a < b for a, b in pairwise(dates))
    assert [str(d) for d in sorted(reversed(dates))] == texts


def test_month_sorts_before_a_day_in_that_month() -> None:
    assert P("2024-09") < P("2024-09-01") < P("2024-09-30")


def test_a_day_sorts_before_an_instant_at_its_midnight() -> None:
    assert P("2024-09-01") < P("2024-09-01T00:00:00Z")


def test_intervals_sort_by_start_not_by_end() -> None:
    assert P("2024") < P("2024-02") and P("2023-12-31") < P("2024")


def test_same_instant_written_with_different_offsets_is_equal() -> None:
    a, b = P("2024-09-01T03:00:00+03:00"), P("2024-09-01T00:00:00Z")
    assert a == b and hash(a) == hash(b)
    assert not a < b and not b < a


def test_same_start_but_different_precision_is_not_equal() -> None:
    assert P("2024") != P("2024-01") != P("2024-01-01") != P("2024-01-01T00:00Z")


def test_the_same_text_is_equal_and_usable_in_sets() -> None:
    assert P("2024-09") == P("2024-09")
    assert len({P("2024-09"), P("2024-09"), P("2024-09-01")}) == 2


def test_comparison_with_a_non_date_is_not_supported() -> None:
    assert P("2024") != "2024"
    with pytest.raises(TypeError):
        _ = P("2024") < "2025"


# --- reaches(): as_of / known_at bounds -------------------------------------------------------


def test_month_bound_includes_the_last_moment_of_its_last_day() -> None:
    bound = P("2024-09")
    assert bound.reaches(utc(2024, 9, 1))
    assert bound.reaches(utc(2024, 9, 30))
    assert bound.reaches(utc(2024, 9, 30, 23, 59, 59, 999999))
    assert not bound.reaches(utc(2024, 10, 1))


def test_month_bound_includes_a_leap_day() -> None:
    assert P("2024-02").reaches(utc(2024, 2, 29, 12))
    assert not P("2024-02").reaches(utc(2024, 3, 1))


def test_day_bound_includes_the_whole_day() -> None:
    assert P("2024-09-27").reaches(utc(2024, 9, 27, 23, 59, 59))
    assert not P("2024-09-27").reaches(utc(2024, 9, 28))


def test_year_bound_includes_new_years_eve() -> None:
    assert P("2024").reaches(utc(2024, 12, 31, 23, 59))
    assert not P("2024").reaches(utc(2025, 1, 1))


def test_instant_bound_is_inclusive() -> None:
    bound = P("2024-09-27T14:00:00Z")
    assert bound.reaches(utc(2024, 9, 27, 14))
    assert not bound.reaches(utc(2024, 9, 27, 14) + timedelta(microseconds=1))


def test_instant_bound_with_offset_compares_in_utc() -> None:
    bound = P("2024-09-27T17:00:00+03:00")
    assert bound.reaches(utc(2024, 9, 27, 14))
    assert not bound.reaches(utc(2024, 9, 27, 14, 0, 1))


def test_every_bound_reaches_earlier_instants() -> None:
    for text in ["2024", "2024-09", "2024-09-27", "2024-09-27T14:00Z"]:
        assert P(text).reaches(utc(2000, 1, 1))


# --- property: sorting agrees with the start instant, coarser first on ties -------------------

OFFSETS = ["Z", "+00:00", "+03:00", "-05:00", "+05:30"]


@st.composite
def partial_dates(draw: st.DrawFn) -> PartialDate:
    # A narrow range and a bias towards the first of a month / midnight make ties common.
    day = draw(st.dates(min_value=date(2023, 12, 1), max_value=date(2025, 1, 31)))
    if draw(st.booleans()):
        day = day.replace(day=1)
    precision = draw(st.sampled_from(Precision))
    if precision is Precision.YEAR:
        return P(f"{day.year:04d}")
    if precision is Precision.MONTH:
        return P(f"{day:%Y-%m}")
    if precision is Precision.DAY:
        return P(day.isoformat())
    moment = draw(st.one_of(st.just(time(0)), st.times()))
    offset = draw(st.sampled_from(OFFSETS)) if moment != time(0) else "Z"
    return P(f"{day.isoformat()}T{moment.isoformat()}{offset}")


@given(st.lists(partial_dates(), max_size=30))
def test_sorting_follows_start_then_coarser_precision_first(dates: list[PartialDate]) -> None:
    ordered = sorted(dates)
    for a, b in pairwise(ordered):
        assert a.start <= b.start
        if a.start == b.start:
            assert a.precision <= b.precision


@given(partial_dates(), partial_dates())
def test_exactly_one_of_less_equal_greater_holds(a: PartialDate, b: PartialDate) -> None:
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a == b) == (a.start == b.start and a.precision == b.precision)
