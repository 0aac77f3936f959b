"""The event store adapter: eventsourcing environment, reads that need positions, and the
store's failures as one error.

A recorded event's ``position`` is the store's notification id (SQLite rowid, PostgreSQL
``notification_id``), known only after the transaction commits, so reads that return
positions query the recorder's table directly.

A store that fails (a full or read-only file, a lost PostgreSQL connection) raises
``StoreUnavailable`` from every call, and the same process works again once the store does:
PostgreSQL connections are checked before use and replaced by the pool, and SQLite connections
are reopened after a failure (one opened while the file was read-only would stay read-only).
``StoreHealth`` keeps what the last write found, for readiness and for one log line per outage.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from services.recorder.exceptions import StoreUnavailable
from services.settings import Settings

log = logging.getLogger("talkstream.store")
STORE_FAILURES = (PersistenceError, OSError, sqlite3.Error, psycopg.Error)
PROBE_TABLE = "talkstream_probe"
# How long a PostgreSQL call waits for a working connection before answering 503.
POSTGRES_CONNECT_TIMEOUT = "5"


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    if settings.store == "sqlite":
        settings.events_db.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.events_db),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:{OneTryPostgresRecorder.__qualname__}",
    }
    for name in ("dbname", "host", "port", "user", "password", "schema"):
        env[f"POSTGRES_{name.upper()}"] = settings.postgres_value(name)
    env.setdefault("POSTGRES_POOL_SIZE", "10")
    # A pooled connection that a restart or a network cut broke is found and replaced before
    # use, instead of failing the request that draws it.
    env["POSTGRES_PRE_PING"] = os.environ.get("POSTGRES_PRE_PING", "y")
    env["POSTGRES_CONNECT_TIMEOUT"] = os.environ.get(
        "POSTGRES_CONNECT_TIMEOUT", POSTGRES_CONNECT_TIMEOUT
    )
    return env


def _without_retries(method: Any) -> Any:
    return method.__wrapped__  # the function under eventsourcing's @retry


class OneTryPostgresRecorder(PostgresApplicationRecorder):
    """eventsourcing's recorder without its ten tries per call: each try waits up to the
    connect timeout for a connection, so a vanished PostgreSQL held every request for ten of
    them. Broken pooled connections are replaced before use instead (``POSTGRES_PRE_PING``);
    a call that still fails answers ``StoreUnavailable`` at once."""

    insert_events = _without_retries(PostgresApplicationRecorder.insert_events)
    select_events = _without_retries(PostgresApplicationRecorder.select_events)
    select_notifications = _without_retries(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _without_retries(PostgresApplicationRecorder.max_notification_id)


def store_name(recorder: ApplicationRecorder) -> str:
    if isinstance(recorder, SQLiteApplicationRecorder):
        return "sqlite"
    if isinstance(recorder, PostgresApplicationRecorder):
        return "postgres"
    return "memory"


@contextmanager
def reaching_store(name: str) -> Iterator[None]:
    """Turns the store's own failures into ``StoreUnavailable``; a write conflict
    (``IntegrityError``: another writer won) passes through unchanged."""
    try:
        yield
    except IntegrityError:
        raise
    except STORE_FAILURES as e:
        reason = " ".join(str(e).split())[:300] or type(e).__name__
        raise StoreUnavailable(
            "store_unavailable",
            f"the {name} event store is unavailable ({reason}); nothing was stored, retry later",
            details={"store": name},
        ) from e


class StoreHealth:
    """Whether the store took the last write; logs one line when it fails and one when it
    takes writes again."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problem: str | None = None
        self._since = 0.0
        self._lock = threading.Lock()

    def failed(self, problem: str) -> None:
        with self._lock:
            if self.problem is None:
                self._since = time.monotonic()
                log.warning("store unavailable store=%s: %s", self.name, problem)
            self.problem = problem

    def recovered(self) -> None:
        with self._lock:
            if self.problem is None:
                return
            self.problem = None
            down = time.monotonic() - self._since
            log.info("store available again store=%s after=%.1fs", self.name, down)


def probe_write(recorder: ApplicationRecorder) -> None:
    """Writes one row of a probe table (never the events): proof that the store takes writes
    now, which no read can give for a full or read-only file."""
    now = datetime.now(UTC)
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} "
                "(id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)"
            )
            c.execute(
                f"INSERT OR REPLACE INTO {PROBE_TABLE} VALUES (1, ?)",  # noqa: S608
                (now.isoformat(),),
            )
    elif isinstance(recorder, PostgresApplicationRecorder):
        table = Identifier(recorder.datastore.schema, PROBE_TABLE)
        create = SQL(
            "CREATE TABLE IF NOT EXISTS {} (id smallint PRIMARY KEY, checked_at timestamptz)"
        ).format(table)
        # Two processes creating it at once: one of them is told the type exists; fine.
        with suppress(IntegrityError), recorder.datastore.transaction(commit=True) as curs:
            curs.execute(create)
        with recorder.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
                ).format(table),
                (now,),
            )


def reopen_connections(recorder: ApplicationRecorder) -> None:
    """Closes the SQLite pool's idle connections so that the next call opens a fresh one: a
    connection opened while the file was read-only stays read-only after it is writable
    again. (PostgreSQL's pool checks and replaces its own.)"""
    if not isinstance(recorder, SQLiteApplicationRecorder):
        return
    pool = recorder.datastore.pool
    with pool._put_condition:  # eventsourcing's pool has no public way to do this
        idle = list(pool._pool)
    for connection in idle:
        connection._close_when_not_in_use()  # what its max-age timer calls


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
