"""Comparing the event stream with the store by the hashes at each position (pure: no I/O):
forward from the start (audit verify), and downwards from a known difference (the relay)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from services.relay.divergence import first_difference, start_of_difference
from services.wire.divergence import Divergence

Pairs = list[tuple[int, str]]


def digest(position: int, history: str = "a") -> str:
    return f"{history}{position:063x}"


def history(positions: Iterable[int], name: str = "a") -> Pairs:
    return [(p, digest(p, name)) for p in positions]


def mixed(*parts: tuple[Iterable[int], str]) -> Pairs:
    return [pair for positions, name in parts for pair in history(positions, name)]


def down(pairs: Pairs) -> Pairs:
    return sorted(pairs, reverse=True)


# Forward, in position order


def test_equal_histories_have_no_difference() -> None:
    assert first_difference(history(range(1, 6)), history(range(1, 6))) is None


def test_a_stream_behind_the_store_is_lag_not_a_difference() -> None:
    assert first_difference(history(range(1, 9)), history(range(1, 6))) is None


def test_the_first_position_whose_hashes_differ_is_named_with_both_hashes() -> None:
    store = mixed((range(1, 4), "a"), (range(4, 9), "b"))
    assert first_difference(store, history(range(1, 9))) == Divergence(4, digest(4, "b"), digest(4))


def test_a_stream_position_the_store_lacks_is_a_difference() -> None:
    assert first_difference(history(range(1, 6)), history(range(1, 8))) == Divergence(
        6, None, digest(6)
    )


def test_a_store_position_missing_inside_the_stream_is_a_difference() -> None:
    assert first_difference(history(range(1, 6)), history([1, 2, 4, 5])) == Divergence(
        3, digest(3), None
    )


def test_the_same_gaps_on_both_sides_are_not_a_difference() -> None:
    # PostgreSQL may skip a notification id (a rolled back insert): then neither side has it.
    assert first_difference(history([1, 2, 4, 5, 7]), history([1, 2, 4, 5])) is None


def test_the_forward_comparison_reads_no_further_than_the_first_difference() -> None:
    def endless(changed_from: int | None) -> Iterator[tuple[int, str]]:
        for p in itertools.count(1):
            yield p, digest(p, "b" if changed_from and p >= changed_from else "a")

    assert first_difference(endless(1000), endless(None)) == Divergence(
        1000, digest(1000, "b"), digest(1000)
    )


# Downwards, from a known difference


def test_walking_down_finds_where_the_differing_run_at_the_top_starts() -> None:
    store = mixed((range(1, 8), "a"), (range(8, 16), "b"))  # restored at 7, then 8 new events
    stream = history(range(1, 13))
    assert start_of_difference(down(store[:12]), down(stream)) == Divergence(
        8, digest(8, "b"), digest(8)
    )


def test_a_store_restored_behind_the_stream_differs_from_its_first_missing_position() -> None:
    assert start_of_difference(down(history(range(1, 8))), down(history(range(1, 13)))) == (
        Divergence(8, None, digest(8))
    )


def test_tops_that_agree_have_no_difference() -> None:
    assert start_of_difference(down(history(range(1, 8))), down(history(range(1, 8)))) is None


def test_histories_that_never_agree_differ_from_their_lowest_position() -> None:
    assert start_of_difference(
        down(history(range(1, 6), "b")), down(history(range(1, 6)))
    ) == Divergence(1, digest(1, "b"), digest(1))


def test_walking_down_stops_at_the_first_agreement_below_the_run() -> None:
    def endless_down(top: int, changed_from: int) -> Iterator[tuple[int, str]]:
        for p in range(top, 0, -1):
            yield p, digest(p, "b" if p >= changed_from else "a")

    stream = ((p, digest(p)) for p in range(10**9, 0, -1))
    assert start_of_difference(endless_down(10**9, 10**9 - 5), stream) == Divergence(
        10**9 - 5, digest(10**9 - 5, "b"), digest(10**9 - 5)
    )
