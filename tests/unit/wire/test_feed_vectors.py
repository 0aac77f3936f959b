"""The change feed's positions on Redis Cluster: a vector's compact text reads back as the same
positions, malformed ones are refused saying where, a cursor written for another partition
count keeps the partitions both have, and pages of several partitions merge in entry ID order
with each step's vector moving only its own partition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.wire.exceptions import BadCursor
from services.wire.feed import ZERO, Vector, merged

entries = st.tuples(st.integers(1, 10**15), st.integers(0, 10**6)) | st.just(ZERO)


@given(st.lists(entries, min_size=2, max_size=12))
def test_a_vector_reads_back_from_its_text(positions: list[tuple[int, int]]) -> None:
    vector = Vector(tuple(positions))
    assert Vector.parse(vector.text, len(positions)) == vector


def test_the_text_is_a_base_then_offsets_empty_for_a_partition_not_read() -> None:
    vector = Vector(((1700000000000, 0), (1700000000125, 1), ZERO))
    assert vector.text == "1700000000000_0_125-1_"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1700000000000-0", "expected a vector"),
        ("_1_2", "expected a vector"),
        ("5_1", "expected 3 partition positions"),
        ("5_1_-2_3", "partition 1"),
        ("5_1_2_3-x", "partition 2"),
    ],
)
def test_a_malformed_vector_is_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(BadCursor) as refused:
        Vector.parse(text, 3)
    assert reason in refused.value.message


def test_a_vector_for_another_partition_count_keeps_the_partitions_both_have() -> None:
    vector = Vector(((5, 0), (6, 1), (7, 2)))
    assert vector.resized(2) == Vector(((5, 0), (6, 1)))
    assert vector.resized(4) == Vector(((5, 0), (6, 1), (7, 2), ZERO))


def test_pages_merge_in_entry_id_order_and_each_step_moves_its_own_partition() -> None:
    start = Vector(((1, 0), ZERO))
    pages = [[(b"3-0", {}), (b"9-0", {})], [(b"2-0", {}), (b"5-0", {})]]
    steps = merged(pages, start, 3)
    assert [s.id for s in steps] == ["1-2-0", "0-3-0", "1-5-0"]
    assert [s.after for s in steps] == [
        Vector(((1, 0), (2, 0))),
        Vector(((3, 0), (2, 0))),
        Vector(((3, 0), (5, 0))),
    ]
