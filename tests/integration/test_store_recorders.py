"""Each store has its own recorder subclass, named by the environment, that reads one
negotiation's events with their positions and probes that the store takes writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.recorder.application import Negotiations
from services.recorder.domain import negotiation_uuid
from services.recorder.store import OneTryPostgresRecorder, SQLiteRecorder
from services.settings import Settings
from tests.conftest import postgres_settings
from tests.factories import note, started
from tests.store_faults import store_env


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


def test_processes_opening_a_new_postgresql_store_at_once_all_start(
    pg_schema: str, tmp_path: Path
) -> None:
    """Several processes starting together on an empty schema (a scaled deployment's first
    start) each create the store's tables; without a lock, two replacing the insert function
    at once fail with "tuple concurrently updated"."""
    settings = postgres_settings(tmp_path, pg_schema)
    script = (
        "import sys; from services.runtime.bootstrap import build_application; "
        "from services.settings import Settings; "
        "build_application(Settings()).close(); print('opened')"
    )
    env = store_env(settings)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    answers = zip(processes, results, strict=True)
    failures = [err.decode()[-300:] for p, (_, err) in answers if p.returncode]
    assert failures == []
    assert all(out.strip() == b"opened" for out, _ in results)
