"""How many processes a rebuild folds in (projections/live/rebuild.py)."""

from __future__ import annotations

from projections.live import rebuild as rebuilding
from projections.live.rebuild import passes_for, workers_for


def test_workers_default_to_the_cpus_only_for_long_streams() -> None:
    assert workers_for(rebuilding.PARALLEL_FROM - 1) == 1
    assert workers_for(rebuilding.PARALLEL_FROM) == min(
        rebuilding.usable_cpus(), rebuilding.MAX_WORKERS
    )


def test_asked_workers_are_taken_as_asked_and_never_fewer_than_one() -> None:
    assert workers_for(10, 3) == 3
    assert workers_for(10**6, 0) == 1


def test_each_worker_passes_over_the_stream_so_that_a_pass_holds_at_most_pass_events() -> None:
    entries = 10 * rebuilding.PASS_EVENTS + 1
    for workers in (1, 2, 3, 8):
        passes = passes_for(entries, workers)
        assert entries / (passes * workers) <= rebuilding.PASS_EVENTS
        assert entries / ((passes - 1) * workers or 1) > rebuilding.PASS_EVENTS or passes == 1
