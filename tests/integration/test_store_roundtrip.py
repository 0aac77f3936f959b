"""The same behaviour on a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

from events import event_hash
from services.recorder.application import Negotiations
from services.recorder.audit import verify
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.factories import scenario


def test_scenario_reads_back_with_positions_versions_and_hashes(store_app: Negotiations) -> None:
    drafts = scenario()
    written = store_app.record_many(drafts, principal="tester")
    history = store_app.history("us-iraq-jscd")
    assert [e.position for e in history] == [w.position for w in written]
    assert [e.stamp.version for e in history] == list(range(1, len(drafts) + 1))
    assert all(e.stamp.hash == event_hash(e.wire) for e in history)
    assert [e.stamp.prev_hash for e in history[1:]] == [e.stamp.hash for e in history[:-1]]
    assert {e.stamp.recorded_by for e in history} == {"tester"}
    assert verify(store_app).ok


def test_recording_the_scenario_twice_stores_nothing_new(store_app: Negotiations) -> None:
    drafts = scenario()
    first = store_app.record_many(drafts, principal="tester")
    again = store_app.record_many(drafts, principal="tester")
    assert all(w.duplicate for w in again)
    assert [(w.event_id, w.position) for w in again] == [(w.event_id, w.position) for w in first]
    assert store_app.max_position() == first[-1].position


def test_a_second_application_on_the_same_store_sees_every_event(
    store_app: Negotiations, store_settings: Settings
) -> None:
    written = store_app.record_many(scenario(), principal="tester")
    other = build_application(store_settings)
    try:
        assert other.negotiation_ids() == ["us-iraq-jscd"]
        assert len(other.history("us-iraq-jscd")) == len(written)
    finally:
        other.close()
