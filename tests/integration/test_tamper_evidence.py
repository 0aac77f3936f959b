"""Changing any stored byte of any event breaks the audit check."""

from __future__ import annotations

import random
import sqlite3

import pytest

from services.recorder.application import Negotiations
from services.recorder.audit import verify
from services.settings import Settings
from tests.factories import scenario
from tests.store_faults import flip_random_byte

SAMPLES = 40


def _rows(app: Negotiations) -> list[tuple[int, bytes]]:
    return [(n.id, n.state) for n in app.notifications()]


def _table(settings: Settings) -> str:
    """PostgreSQL stores events in the application's own table, in the test's schema."""
    return f'"{settings.postgres_schema}".negotiations_events'


def _write_state(settings: Settings, position: int, state: bytes) -> None:
    if settings.store == "sqlite":
        with sqlite3.connect(settings.events_db) as db:
            db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state, position))
        return
    import psycopg

    from tests.conftest import PG

    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(
            f"UPDATE {_table(settings)} SET state=%s WHERE notification_id=%s",
            (state, position),
        )


def _fresh_view(settings: Settings) -> Negotiations:
    from services.runtime.bootstrap import build_application

    return build_application(settings)


def test_flipping_any_stored_byte_breaks_verification(
    store_app: Negotiations, store_settings: Settings
) -> None:
    store_app.record_many(scenario(), principal="tester")
    rows = _rows(store_app)
    rng = random.Random(20240927)
    auditor = _fresh_view(store_settings)
    try:
        assert verify(auditor).ok
        for _ in range(SAMPLES):
            position, state = rng.choice(rows)
            mutated, at = flip_random_byte(rng, state)
            _write_state(store_settings, position, mutated)
            report = verify(auditor)
            _write_state(store_settings, position, state)
            assert not report.ok, f"byte {at} of position {position} changed unnoticed"
            assert position in {p.position for p in report.problems}
        assert verify(auditor).ok
    finally:
        auditor.close()


@pytest.mark.parametrize("victim", [3, 8])
def test_deleting_an_event_in_the_middle_breaks_the_chain(
    store_app: Negotiations, store_settings: Settings, victim: int
) -> None:
    store_app.record_many(scenario(), principal="tester")
    if store_settings.store == "sqlite":
        with sqlite3.connect(store_settings.events_db) as db:
            db.execute("DELETE FROM stored_events WHERE rowid=?", (victim,))
    else:
        import psycopg

        from tests.conftest import PG

        with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(
                f"DELETE FROM {_table(store_settings)} WHERE notification_id=%s",
                (victim,),
            )
    report = verify(store_app)
    assert [p.position for p in report.problems] == [victim + 1]
    assert "missing" in report.problems[0].reason
