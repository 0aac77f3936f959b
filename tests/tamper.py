"""Tampering with a real store (SQLite file or PostgreSQL schema), its log tables, its event
stream and its views, as an intruder with write access would: for the audit's drills."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from hashlib import sha256
from typing import Any

import orjson
from redis import Redis

from events import canonical_json, split_hash, with_hash
from projections.live.store import ViewStore
from projections.views import PROJECTIONS
from services.recorder.ledger import LogWriter, load_signer, open_ledger
from services.recorder.ledger.tables import CHECKPOINTS_TABLE, TREE_TABLE
from services.runtime.bootstrap import build_application
from services.runtime.repair import rebuild_stream
from services.settings import Settings
from services.wire.streams import Streams
from tests.factories import scenario

LEDGER_TABLES = (CHECKPOINTS_TABLE, TREE_TABLE)


def logged_store(settings: Settings) -> None:
    """The bundled scenario recorded, logged and checkpointed (the log writer), published on
    the stream and folded into every view."""
    app = build_application(settings)
    try:
        app.record_many(scenario(), principal="tester")
        checkpoint(settings)
    finally:
        app.close()
    rebuild_stream(settings, force=True)


def checkpoint(settings: Settings) -> int:
    """What the log writer does: append the stored events not yet logged, then sign."""
    app = build_application(settings)
    try:
        ledger = open_ledger(app, settings)
        return LogWriter(app, ledger, load_signer(settings)).checkpoint_now().size
    finally:
        app.close()


def execute(settings: Settings, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """One SQL statement (``?`` placeholders, ``{events}`` for the events table, ``{pos}``
    for its position column, ``{schema}`` before the log's tables) on the test's store."""
    if settings.store == "sqlite":
        sql = statement.format(events="stored_events", pos="rowid", schema="")
        with sqlite3.connect(settings.events_db) as db:
            rows = db.execute(sql, params).fetchall()
        db.close()
        return rows
    import psycopg

    from tests.conftest import PG

    schema = f'"{settings.postgres_schema}"'
    sql = statement.format(
        events=f"{schema}.negotiations_events", pos="notification_id", schema=f"{schema}."
    ).replace("?", "%s")
    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def rows(settings: Settings) -> list[tuple[int, bytes]]:
    return [
        (int(p), bytes(s))
        for p, s in execute(settings, "SELECT {pos}, state FROM {events} ORDER BY {pos}")
    ]


def write_state(settings: Settings, position: int, state: bytes) -> None:
    execute(settings, "UPDATE {events} SET state=? WHERE {pos}=?", state, position)


def flip_a_letter(settings: Settings, position: int) -> None:
    """The case of the first letter of the event's first source outlet swapped: the JSON
    stays valid and the same length."""
    state = dict(rows(settings))[position]
    marker = b'"outlet":"'
    at = state.index(marker) + len(marker)
    write_state(settings, position, state[:at] + bytes([state[at] ^ 0x20]) + state[at + 1 :])


def delete(settings: Settings, *positions: int) -> None:
    for position in positions:
        execute(settings, "DELETE FROM {events} WHERE {pos}=?", position)


def swap_positions(settings: Settings, a: int, b: int) -> None:
    for old, new in ((a, -1), (b, a), (-1, b)):
        execute(settings, "UPDATE {events} SET {pos}=? WHERE {pos}=?", new, old)


def forge(settings: Settings, position: int, excerpt: str = "forged") -> None:
    """The event at ``position`` rewritten (its first source's excerpt), its hash recomputed,
    and every later event of its negotiation chained to it again: every hash and link
    verifies."""
    stored = rows(settings)
    previous: str | None = None
    negotiation: str | None = None
    for at, state in stored:
        if at < position:
            continue
        body, _ = _split(state)
        wire = orjson.loads(body)
        if at == position:
            negotiation = wire["negotiation_id"]
            wire["sources"][0]["excerpt"] = excerpt
        elif wire["negotiation_id"] != negotiation:
            continue
        else:
            wire["prev_hash"] = previous
        body = canonical_json(wire)
        previous = sha256(body).hexdigest()
        write_state(settings, at, with_hash(body, wire["event_id"], previous))


def _split(state: bytes) -> tuple[bytes, str]:
    split = split_hash(state)
    assert split is not None
    return split


def rewrite_log(settings: Settings, key_text: str | None = None) -> None:
    """The log's tables emptied and the log written again from the store as it is now,
    signed by ``key_text`` (a new key, installed as the log's key) or the log's own key."""
    for table in LEDGER_TABLES:
        execute(settings, f"DELETE FROM {{schema}}{table}")
    if key_text is not None:
        settings.log_key_path.write_text(key_text + "\n", encoding="utf-8")
    checkpoint(settings)


def change_stream_entry(redis: Redis, settings: Settings, position: int) -> None:
    """Stream entries cannot be edited: the stream is written again, one entry changed."""
    stream = Streams(settings.prefix).events
    entries: Sequence[Any] = redis.xrange(stream)
    redis.delete(stream)
    for entry_id, fields in entries:
        written = dict(fields)
        if entry_id.decode() == f"{position}-0":
            event = json.loads(fields[b"event"])
            event["sources"][0]["excerpt"] = "changed in Redis"
            written[b"event"] = canonical_json(event)
        redis.xadd(stream, written, id=entry_id)


def change_view_field(redis: Redis, settings: Settings, negotiation_id: str) -> str:
    """One field of the negotiation view changed in Redis (its title); returns the view."""
    store = ViewStore(redis, settings.prefix, PROJECTIONS["negotiation"].name)
    gen = store.generation()
    state = store.load(gen, [negotiation_id])[negotiation_id]
    assert state is not None
    state["view"]["title"] = "changed in Redis"
    store.write_all(gen, {negotiation_id: state}, store.tracked(gen))
    return "negotiation"
