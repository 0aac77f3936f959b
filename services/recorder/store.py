"""The event store adapter: eventsourcing environment, and reads that need positions.

A recorded event's ``position`` is the store's notification id (SQLite rowid, PostgreSQL
``notification_id``), known only after the transaction commits, so reads that return
positions query the recorder's table directly.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from services.runtime.settings import Settings


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    if settings.store == "sqlite":
        settings.events_db.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.events_db),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres"}
    for name in ("dbname", "host", "port", "user", "password", "schema"):
        env[f"POSTGRES_{name.upper()}"] = settings.postgres_value(name)
    env.setdefault("POSTGRES_POOL_SIZE", "10")
    return env


def select_with_positions(
    recorder: ApplicationRecorder, originator_id: UUID, after_version: int = 0
) -> list[tuple[int, StoredEvent]]:
    """One aggregate's stored events from ``after_version``, each with its position."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_select(recorder, originator_id, after_version)
    if isinstance(recorder, PostgresApplicationRecorder):
        return _postgres_select(recorder, originator_id, after_version)
    return _scan_select(recorder, originator_id, after_version)


def _stored(row: Any, originator_id: UUID) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


def _sqlite_select(
    recorder: SQLiteApplicationRecorder, originator_id: UUID, after: int
) -> list[tuple[int, StoredEvent]]:
    table = recorder.events_table_name  # the recorder's own name, never input
    statement = (
        f"SELECT rowid, originator_version, topic, state FROM {table} "  # noqa: S608
        "WHERE originator_id=? AND originator_version>? ORDER BY originator_version"
    )
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(statement, (originator_id.hex, after))
        return [(row["rowid"], _stored(row, originator_id)) for row in c.fetchall()]


def _postgres_select(
    recorder: PostgresApplicationRecorder, originator_id: UUID, after: int
) -> list[tuple[int, StoredEvent]]:
    statement = SQL(
        "SELECT notification_id, originator_version, topic, state FROM {}.{} "
        "WHERE originator_id=%s AND originator_version>%s ORDER BY originator_version"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, (originator_id, after))
        return [(row["notification_id"], _stored(row, originator_id)) for row in curs.fetchall()]


def _scan_select(
    recorder: ApplicationRecorder, originator_id: UUID, after: int
) -> list[tuple[int, StoredEvent]]:
    """In-memory stores (tests): scan the notification log."""
    out: list[tuple[int, StoredEvent]] = []
    start = 1
    while page := recorder.select_notifications(start, 1000):
        for n in page:
            if n.originator_id == originator_id and n.originator_version > after:
                out.append((n.id, n))
        start = page[-1].id + 1
    return out
