"""How ``bench scale`` splits the work between projector processes: every (partition, stored
view) followed by exactly one process, whole partitions while there are enough of them."""

from __future__ import annotations

import pytest

from projections.views import STORED
from services.bench.scale import shares


@pytest.mark.parametrize(("partitions", "processes"), [(1, 1), (1, 3), (2, 3), (4, 2), (4, 3)])
def test_every_partition_and_view_is_followed_by_exactly_one_process(
    partitions: int, processes: int
) -> None:
    covered = [(k, v) for s in shares(partitions, processes) for k in s.partitions for v in s.views]
    assert sorted(covered) == sorted((k, v) for k in range(partitions) for v in STORED)


def test_processes_take_whole_partitions_round_robin_when_there_are_enough() -> None:
    split = shares(4, 2)
    assert [s.partitions for s in split] == [(0, 2), (1, 3)]
    assert split[0].args(4) == ["project", "--partitions", "0,2"]


def test_with_one_partition_the_processes_split_the_views() -> None:
    split = shares(1, 3)
    assert [s.views for s in split] == [(name,) for name in STORED]
    assert split[0].args(1) == ["project", "--projection", next(iter(STORED))]
