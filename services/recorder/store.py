"""The event store adapter: eventsourcing environment, the recorders, and the store's failures
as one error.

Each store has its own recorder, a subclass of eventsourcing's named in the environment
(``APPLICATION_RECORDER_TOPIC``, or the factory for the in-memory store), that adds what the
application needs beyond eventsourcing's interface (``StoreRecorder``): a recorded event's
``position`` is the store's notification id (SQLite rowid, PostgreSQL ``notification_id``),
known only after the transaction commits, so reads that return positions query the
recorder's table directly; and a write probe for readiness.

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
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic
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
            "APPLICATION_RECORDER_TOPIC": get_topic(SQLiteRecorder),
            "SQLITE_DBNAME": str(settings.events_db),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(OneTryPostgresRecorder),
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


Positioned = list[tuple[int, StoredEvent]]


@dataclass(frozen=True)
class BulkWrite:
    """One open write transaction of the store, filled in pieces: ``insert`` adds stored
    events to it, ``stored_at`` reads one event back as the transaction sees it (its own
    inserts included). The transaction commits when its context ends, or rolls back on an
    error: all or nothing, whatever the number of pieces."""

    insert: Callable[[Sequence[StoredEvent]], object]
    stored_at: Callable[[UUID, int], StoredEvent]


class StoreRecorder(ApplicationRecorder):
    """What the application needs of its recorder beyond eventsourcing's interface."""

    store_name: ClassVar[str]

    @abstractmethod
    def select_with_positions(self, originator_id: UUID, after_version: int) -> Positioned:
        """One aggregate's stored events after ``after_version``, each with its position."""

    @abstractmethod
    def probe_write(self) -> None:
        """Writes one row of a probe table (never the events): proof that the store takes
        writes now, which no read can give for a full or read-only file."""

    def reopen_connections(self) -> None:
        """Drops connections that a failure may have spoiled (by default, none)."""

    @abstractmethod
    def bulk(self) -> AbstractContextManager[BulkWrite]:
        """One write transaction filled in pieces (see ``BulkWrite``)."""


_uuid_of = lru_cache(maxsize=4096)(UUID)


def _stored(row: Any, originator_id: UUID) -> StoredEvent:
    return StoredEvent(
        originator_id=originator_id,
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


class SQLiteRecorder(StoreRecorder, SQLiteApplicationRecorder):
    store_name = "sqlite"

    def convert_originator_id(self, originator_id: str) -> UUID | str:
        """A row's negotiation id as a UUID, made once per negotiation rather than per row
        (a UUID is immutable): about a ninth of what the relay spends per event reading and
        checking the store (``talkstream bench relay``)."""
        if self.datastore.originator_id_type != "uuid":
            return originator_id
        return _uuid_of(originator_id)

    def select_with_positions(self, originator_id: UUID, after_version: int) -> Positioned:
        table = self.events_table_name  # the recorder's own name, never input
        statement = (
            f"SELECT rowid, originator_version, topic, state FROM {table} "  # noqa: S608
            "WHERE originator_id=? AND originator_version>? ORDER BY originator_version"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (originator_id.hex, after_version))
            return [(row["rowid"], _stored(row, originator_id)) for row in c.fetchall()]

    @contextmanager
    def bulk(self) -> Iterator[BulkWrite]:
        table = self.events_table_name  # the recorder's own name, never input
        one = (
            f"SELECT originator_version, topic, state FROM {table} "  # noqa: S608
            "WHERE originator_id=? AND originator_version=?"
        )

        with self.datastore.transaction(commit=True) as c:

            def stored_at(originator_id: UUID, version: int) -> StoredEvent:
                c.execute(one, (originator_id.hex, version))
                return _stored(c.fetchone(), originator_id)

            yield BulkWrite(lambda events: self._insert_events(c, events), stored_at)

    def probe_write(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} "
                "(id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)"
            )
            c.execute(
                f"INSERT OR REPLACE INTO {PROBE_TABLE} VALUES (1, ?)",  # noqa: S608
                (datetime.now(UTC).isoformat(),),
            )

    def reopen_connections(self) -> None:
        """Closes the pool's idle connections so that the next call opens a fresh one: a
        connection opened while the file was read-only stays read-only after it is writable
        again."""
        pool = self.datastore.pool
        with pool._put_condition:  # eventsourcing's pool has no public way to do this
            idle = list(pool._pool)
        for connection in idle:
            connection._close_when_not_in_use()  # what its max-age timer calls


def _without_retries(method: Any) -> Any:
    return method.__wrapped__  # the function under eventsourcing's @retry


class OneTryPostgresRecorder(StoreRecorder, PostgresApplicationRecorder):
    """eventsourcing's recorder without its ten tries per call: each try waits up to the
    connect timeout for a connection, so a vanished PostgreSQL held every request for ten of
    them. Broken pooled connections are replaced before use instead (``POSTGRES_PRE_PING``);
    a call that still fails answers ``StoreUnavailable`` at once. (The pool checks and
    replaces its own connections: nothing to reopen.)"""

    store_name = "postgres"
    insert_events = _without_retries(PostgresApplicationRecorder.insert_events)
    select_events = _without_retries(PostgresApplicationRecorder.select_events)
    select_notifications = _without_retries(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _without_retries(PostgresApplicationRecorder.max_notification_id)

    def create_table(self) -> None:
        """eventsourcing's, one process at a time per table: processes starting together on
        an empty schema (a scaled deployment's first start) would replace the insert function
        at once, and all but one fail ("tuple concurrently updated")."""
        lock = f"talkstream:{self.datastore.schema}.{self.events_table_name}"
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))

    def select_with_positions(self, originator_id: UUID, after_version: int) -> Positioned:
        statement = SQL(
            "SELECT notification_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id=%s AND originator_version>%s ORDER BY originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (originator_id, after_version))
            rows = curs.fetchall()
        return [(row["notification_id"], _stored(row, originator_id)) for row in rows]

    @contextmanager
    def bulk(self) -> Iterator[BulkWrite]:
        one = SQL(
            "SELECT originator_version, topic, state FROM {}.{} "
            "WHERE originator_id=%s AND originator_version=%s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with self.datastore.transaction(commit=True) as curs:
            # the transaction waits, idle, while the next piece is read and checked: however
            # long that takes, the server must not end the session (it would undo the import)
            curs.execute("SET LOCAL idle_in_transaction_session_timeout = 0")

            def stored_at(originator_id: UUID, version: int) -> StoredEvent:
                curs.execute(one, (originator_id, version))
                return _stored(curs.fetchone(), originator_id)

            yield BulkWrite(lambda events: self._insert_stored_events(curs, events), stored_at)

    def probe_write(self) -> None:
        table = Identifier(self.datastore.schema, PROBE_TABLE)
        create = SQL(
            "CREATE TABLE IF NOT EXISTS {} (id smallint PRIMARY KEY, checked_at timestamptz)"
        ).format(table)
        # Two processes creating it at once: one of them is told the type exists; fine.
        with suppress(IntegrityError), self.datastore.transaction(commit=True) as curs:
            curs.execute(create)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} VALUES (1, %s) "
                    "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at"
                ).format(table),
                (datetime.now(UTC),),
            )


class MemoryRecorder(StoreRecorder, POPOApplicationRecorder):
    """eventsourcing's in-memory recorder (tests, AsyncAPI generation)."""

    store_name = "memory"

    def select_with_positions(self, originator_id: UUID, after_version: int) -> Positioned:
        out: Positioned = []
        start = 1
        while page := self.select_notifications(start, 1000):
            for n in page:
                if n.originator_id == originator_id and n.originator_version > after_version:
                    out.append((n.id, n))
            start = page[-1].id + 1
        return out

    def probe_write(self) -> None:
        """Memory always takes writes."""

    @contextmanager
    def bulk(self) -> Iterator[BulkWrite]:
        """The pieces are held and inserted together at the end (memory holds them anyway)."""
        held: list[StoredEvent] = []

        def stored_at(originator_id: UUID, version: int) -> StoredEvent:
            for event in held:
                if (event.originator_id, event.originator_version) == (originator_id, version):
                    return event
            return self.select_with_positions(originator_id, version - 1)[0][1]

        yield BulkWrite(held.extend, stored_at)
        self.insert_events(held)


class MemoryFactory(POPOFactory):
    """eventsourcing's in-memory factory, with the recorder the application needs (the
    library's in-memory factory takes no ``APPLICATION_RECORDER_TOPIC``)."""

    def application_recorder(self) -> ApplicationRecorder:
        return MemoryRecorder()


MEMORY_ENV = {"PERSISTENCE_MODULE": get_topic(MemoryFactory)}
"""The environment of an application on the in-memory store."""


def store_recorder(recorder: ApplicationRecorder) -> StoreRecorder:
    """The recorder, if it is one of the store recorders above (the environment names them)."""
    if not isinstance(recorder, StoreRecorder):
        raise TypeError(
            f"{type(recorder).__name__} is not a talkstream store recorder: build the "
            "application's environment with eventsourcing_env (or MEMORY_ENV)"
        )
    return recorder


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
            f"the {name} event store is unavailable ({reason}); retry later with the same "
            "idempotency_key (a write cut off while it was committed may have been stored)",
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
