"""A store's backup taken and put back as an operator would: the SQLite file through SQLite's
online backup API (the store runs in WAL mode, so copying the file alone could miss commits),
PostgreSQL's event table copied within its schema and, on restore, its notification id
sequence set back to the copy's last id, as restoring a dump does."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from redis import Redis

from projections.live.apply import Applier
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from services.runtime.bootstrap import build_application
from services.settings import Settings
from services.wire.groups import ensure_group
from services.wire.streams import Streams
from tests.conftest import PG
from tests.integration.relay.helpers import open_negotiations, write_notes


def sqlite_copy(source: Path, target: Path) -> None:
    """Copies one SQLite database over another (either may be in use)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass(frozen=True)
class StoreBackup:
    settings: Settings
    table: str
    copy: Path

    @classmethod
    def take(cls, settings: Settings, app: Negotiations, copy: Path) -> StoreBackup:
        backup = cls(settings, app.recorder.events_table_name, copy)  # type: ignore[attr-defined]
        if settings.store == "sqlite":
            sqlite_copy(settings.events_db, copy)
        else:
            backup._sql("CREATE TABLE {backup} AS TABLE {table}")
        return backup

    def restore(self) -> None:
        """Puts the copy back (close the application first, as a restore needs downtime)."""
        if self.settings.store == "sqlite":
            sqlite_copy(self.copy, self.settings.events_db)
            return
        self._sql(
            "TRUNCATE {table}; INSERT INTO {table} SELECT * FROM {backup}; "
            "SELECT setval(pg_get_serial_sequence({name}, 'notification_id'), "
            "(SELECT max(notification_id) FROM {table}))"
        )

    def _sql(self, statement: str) -> None:
        schema = self.settings.postgres_schema
        query = sql.SQL(statement).format(
            table=sql.Identifier(schema, self.table),
            backup=sql.Identifier(schema, f"{self.table}_backup"),
            name=sql.Literal(f'"{schema}"."{self.table}"'),
        )
        with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(query)


KEPT = 7  # events in the backup: 3 opening the talks, 4 notes
LOST = 5  # events recorded after the backup and published, then lost with the restore


def published_then_restored(
    settings: Settings,
    tmp_path: Path,
    client: Redis,
    stream: str,
    *,
    workers: Mapping[str, Applier] | None = None,
) -> Negotiations:
    """Records KEPT events, backs the store up, records LOST more and publishes all of them
    (and applies them to every view with ``workers``, creating their consumer groups), then
    restores the backup: the store is back at position KEPT, the stream (and the views) at
    KEPT + LOST."""
    app = build_application(settings)
    open_negotiations(app, ["talks-a"])
    write_notes(app, ["talks-a"], KEPT - 3, KEPT - 3)
    backup = StoreBackup.take(settings, app, tmp_path / "backup.db")
    write_notes(app, ["talks-a"], LOST, LOST, tag="lost")
    Relay(app, client, stream=stream).catch_up()
    for name, applier in (workers or {}).items():
        ensure_group(client, stream, Streams(settings.prefix).projection_group(name))
        applier.apply_through(KEPT + LOST, beyond=True)  # as a worker handed that entry does
    app.close()
    backup.restore()
    return build_application(settings)
