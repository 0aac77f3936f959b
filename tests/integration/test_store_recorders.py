"""Each store has its own recorder subclass, named by the environment, that reads one
negotiation's events with their positions and probes that the store takes writes."""

from __future__ import annotations

from services.recorder.application import Negotiations
from services.recorder.domain import negotiation_uuid
from services.recorder.store import OneTryPostgresRecorder, SQLiteRecorder
from services.settings import Settings
from tests.factories import note, started


def test_the_stores_recorder_reads_events_with_their_positions(
    store_app: Negotiations, store_settings: Settings
) -> None:
    expected = SQLiteRecorder if store_settings.store == "sqlite" else OneTryPostgresRecorder
    assert type(store_app.recorder) is expected
    assert store_app.store == store_settings.store
    store_app.record_many([*started("talks-a"), *started("talks-b")], principal="p")
    store_app.record_many([note(nid="talks-b"), note(nid="talks-a")], principal="p")
    by_negotiation = {
        nid: [
            (n.id, n.originator_version)
            for n in store_app.notifications()
            if n.originator_id == negotiation_uuid(nid)
        ]
        for nid in ("talks-a", "talks-b")
    }
    for nid, notified in by_negotiation.items():
        rows = store_app.store_recorder.select_with_positions(negotiation_uuid(nid), 1)
        assert [(p, s.originator_version) for p, s in rows] == notified[1:]
    assert store_app.store_problem() is None
