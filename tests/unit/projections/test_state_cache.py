"""The states an applier keeps between batches: least recently used out first, bounded by the
events folded into them, between batches too."""

from __future__ import annotations

from projections.live.statecache import StateCache, weight
from projections.negotiation import State, empty


def _state(events: int) -> State:
    state = empty()
    for n in range(events):
        state["registry"][f"e{n}"] = {}  # type: ignore[assignment]
    return state


def test_a_state_weighs_its_folded_events_plus_one() -> None:
    assert weight(_state(0)) == 1
    assert weight(_state(9)) == 10


def test_the_least_recently_used_states_go_first_once_the_budget_is_exceeded() -> None:
    cache = StateCache(budget=30)
    cache.keep({"a": _state(9)})
    cache.keep({"b": _state(9)})
    cache.take(["a"])  # a is now the more recent of the two
    cache.keep({"c": _state(9)})
    assert (("a" in cache), ("b" in cache), ("c" in cache)) == (True, True, True)
    cache.keep({"d": _state(9)})
    assert "b" not in cache and {"a", "c", "d"} <= {n for n in "abcd" if n in cache}
    assert cache.held == 30 and cache.evictions == 1


def test_a_batch_over_the_budget_keeps_only_the_states_it_touched_last() -> None:
    cache = StateCache(budget=25)
    cache.keep({"old": _state(1)})
    cache.keep({"a": _state(9), "b": _state(9), "c": _state(9)})
    assert [n for n in ("old", "a", "b", "c") if n in cache] == ["b", "c"]
    assert cache.held == 20 and cache.evictions == 2


def test_a_state_larger_than_the_budget_is_not_kept() -> None:
    cache = StateCache(budget=5)
    cache.keep({"a": _state(9)})
    assert "a" not in cache and cache.held == 0


def test_keeping_a_state_again_counts_it_once() -> None:
    cache = StateCache(budget=100)
    cache.keep({"a": _state(3)})
    cache.keep({"a": _state(7)})
    assert cache.held == 8 and len(cache) == 1
    cache.drop("a")
    assert cache.held == 0 and len(cache) == 0


def test_only_held_states_are_taken() -> None:
    cache = StateCache()
    cache.keep({"b": _state(1)})
    assert "b" in cache and "a" not in cache
    assert list(cache.take(["a", "b"])) == ["b"]
