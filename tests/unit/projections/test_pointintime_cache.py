"""The point-in-time service answers like a plain fold, loads only new events, and serves a
repeated question from its cache."""

from __future__ import annotations

import gc
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import PartialDate
from projections import pointintime
from projections.asof import fold_at
from projections.collector import collector_paused
from projections.pointintime import PointInTime
from services.recorder.application import Negotiations
from tests.factories import NID, agreement, note, started, status


def _service(app: Negotiations, calls: list[int]) -> PointInTime:
    def load(negotiation_id: str, after: int) -> list[dict[str, object]]:
        calls.append(after)
        return app.wires(negotiation_id, after_version=after)

    return PointInTime(load)


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_answers_equal_a_plain_fold_on_both_clocks(memory_app: Negotiations) -> None:
    memory_app.record_many([*started(), agreement(), status("signed")], principal="p")
    service = _service(memory_app, [])
    wires = memory_app.wires(NID)
    for as_of, known_at in (
        ("2024-08-01", None),
        ("2024-10", None),
        (None, "2000"),
        ("2024", "2100"),
    ):
        a = PartialDate.parse(as_of) if as_of else None
        k = PartialDate.parse(known_at) if known_at else None
        assert _same(service.state(NID, as_of=a, known_at=k), fold_at(wires, as_of=a, known_at=k))


def test_loads_only_the_events_recorded_since_the_last_question(
    memory_app: Negotiations,
) -> None:
    memory_app.record_many(started(), principal="p")
    calls: list[int] = []
    service = _service(memory_app, calls)
    service.state(NID)
    memory_app.record(note("later"), principal="p")
    after = service.state(NID)
    assert calls == [0, 3]
    assert after["view"]["version"] == 4


def test_a_repeated_question_is_served_from_the_cache(memory_app: Negotiations) -> None:
    memory_app.record_many(started(), principal="p")
    service = _service(memory_app, [])
    as_of = PartialDate.parse("2024")
    assert service.state(NID, as_of=as_of) is service.state(NID, as_of=as_of)
    memory_app.record(note("new"), principal="p")
    assert service.state(NID, as_of=as_of)["view"]["version"] == 4


def test_a_fold_ending_inside_a_workers_batch_leaves_the_collector_paused(
    memory_app: Negotiations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A projection worker's batch that begins while a point-in-time fold runs (another
    thread) keeps the collector paused until the batch ends, not until the fold ends."""
    memory_app.record_many(started(), principal="p")
    service = _service(memory_app, [])
    batch = collector_paused()
    plain_fold = pointintime.fold

    def fold_as_a_batch_begins(state: None, wires: list[dict[str, object]]) -> object:
        batch.__enter__()
        return plain_fold(state, wires)

    monkeypatch.setattr(pointintime, "fold", fold_as_a_batch_begins)
    assert gc.isenabled()
    try:
        service.state(NID)
        assert not gc.isenabled(), "the fold resumed the collector in the middle of the batch"
    finally:
        batch.__exit__(None, None, None)
        resumed = gc.isenabled()
        gc.enable()
    assert resumed, "the collector stayed paused after both ended"


def _talks(app: Negotiations, nids: list[str]) -> None:
    for nid in nids:
        app.record_many([*started(nid), note("x" * 400, nid)], principal="p")


def test_the_cache_stays_within_its_bytes_and_evicts_the_least_recently_asked(
    memory_app: Negotiations,
) -> None:
    nids = [f"talks-{i}" for i in range(6)]
    _talks(memory_app, nids)
    one = PointInTime(lambda nid, after: memory_app.wires(nid, after_version=after))
    one.state(nids[0])
    weight = one.stats().bytes  # one negotiation's events and one fold
    calls: list[tuple[str, int]] = []

    def load(nid: str, after: int) -> list[dict[str, object]]:
        calls.append((nid, after))
        return memory_app.wires(nid, after_version=after)

    service = PointInTime(load, limit_bytes=weight * 3)
    for nid in nids:
        service.state(nid)
        assert service.stats().bytes <= weight * 3
    stats = service.stats()
    assert stats.evictions > 0
    assert stats.misses == len(nids)
    service.state(nids[-1])  # the most recent: still cached, no load from the start
    assert service.stats().hits == 1
    assert calls[-1] == (nids[-1], 4)  # started (3) and a note
    service.state(nids[0])  # the least recent: evicted, loaded again from the start
    assert calls[-1] == (nids[0], 0)
    assert service.stats().misses == len(nids) + 1


def test_an_entry_heavier_than_the_limit_is_answered_and_not_kept(
    memory_app: Negotiations,
) -> None:
    _talks(memory_app, [NID])
    service = PointInTime(
        lambda nid, after: memory_app.wires(nid, after_version=after), limit_bytes=1
    )
    assert _same(service.state(NID), fold_at(memory_app.wires(NID)))
    assert service.stats().bytes == 0


DATES = st.sampled_from([None, "2023", "2023-08", "2024-07-22", "2024-10", "2100"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    questions=st.lists(st.tuples(st.integers(0, 3), DATES, DATES), min_size=1, max_size=25),
    limit=st.integers(1, 60_000),
)
def test_answers_under_any_bound_equal_a_plain_fold(
    memory_app: Negotiations, questions: list[tuple[int, str | None, str | None]], limit: int
) -> None:
    nids = [f"pit-{i}" for i in range(4)]
    if not memory_app.negotiation_ids():
        _talks(memory_app, nids)
    service = PointInTime(
        lambda nid, after: memory_app.wires(nid, after_version=after), limit_bytes=limit
    )
    for index, as_of, known_at in questions:
        a = PartialDate.parse(as_of) if as_of else None
        k = PartialDate.parse(known_at) if known_at else None
        wires = memory_app.wires(nids[index])
        expected = fold_at(wires, as_of=a, known_at=k)
        assert _same(service.state(nids[index], as_of=a, known_at=k), expected)
        assert service.stats().bytes <= limit
