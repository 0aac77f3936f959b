"""Stores written in the first stored format (eventsourcing's JSON with the hashed body as an
escaped string; tests/data/legacy-store) keep loading: their events read back exactly as the
code that wrote them read them, new events record on top in the current format, the mixed
store passes the audit, and a flipped byte in an old row is still found."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from events import Envelope, canonical_json
from services.recorder.application import Negotiations
from services.recorder.audit import verify
from services.recorder.exceptions import EventCorrupted
from services.recorder.jsonl import jsonl_lines, parse_lines
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.factories import note
from tests.store_faults import flip_random_byte, write_state

LEGACY = Path(__file__).parent.parent / "data" / "legacy-store"
FIRST_FORMAT = b'{"timestamp":'
SAMPLES = 20


def _legacy_rows() -> list[StoredEvent]:
    with sqlite3.connect(LEGACY / "events.db") as db:
        rows = db.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    return [StoredEvent(UUID(i), v, t, bytes(s)) for i, v, t, s in rows]


def _read_back() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((LEGACY / "read-back.json").read_text("utf-8"))
    return events


@pytest.fixture
def legacy_app(store_settings: Settings) -> Iterator[Negotiations]:
    """An application on a store holding the first-format rows: the committed SQLite file
    itself, or its rows inserted as they are into a fresh PostgreSQL schema."""
    if store_settings.store == "sqlite":
        store_settings.events_db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(LEGACY / "events.db", store_settings.events_db)
    app = build_application(store_settings)
    if store_settings.store == "postgres":
        app.recorder.insert_events(_legacy_rows())
    yield app
    app.close()


def test_a_first_format_store_reads_back_as_it_was_written(legacy_app: Negotiations) -> None:
    expected = _read_back()
    notifications = list(legacy_app.notifications())
    assert all(n.state.startswith(FIRST_FORMAT) for n in notifications)
    assert [n.id for n in notifications] == [e["position"] for e in expected]
    for n, event in zip(notifications, expected, strict=True):
        assert legacy_app.body_of(n) == (event["body"], event["hash"])
    for negotiation_id in legacy_app.negotiation_ids():
        wires = [
            {**json.loads(e["body"]), "hash": e["hash"], "position": e["position"]}
            for e in expected
            if json.loads(e["body"])["negotiation_id"] == negotiation_id
        ]
        assert legacy_app.wires(negotiation_id) == wires
        assert all(e.hash_ok() for e in legacy_app.history(negotiation_id))
    assert verify(legacy_app).ok


def test_recording_on_a_first_format_store_makes_a_mixed_store_that_verifies(
    legacy_app: Negotiations, store_settings: Settings
) -> None:
    old = {n.id: n.state for n in legacy_app.notifications()}
    last = legacy_app.wires("legacy-talks")[-1]
    written = legacy_app.record(note("New format.", "legacy-talks"), principal="t")
    assert (written.version, written.position) == (last["version"] + 1, len(old) + 1)
    assert legacy_app.wires("legacy-talks")[-1]["prev_hash"] == last["hash"]
    repeat = _first_line_keyed("note-1")
    again = legacy_app.record(repeat, principal="t")
    assert again.duplicate and again.version == 3
    legacy_app.record_many([note("Also new.", "us-iraq-jscd")], principal="t")

    fresh = build_application(store_settings)  # no cache: every negotiation loads from rows
    try:
        assert fresh.record(note("After a reload.", "legacy-talks"), principal="t").version == (
            written.version + 1
        )
        rows = list(fresh.notifications())
        assert {n.id: n.state for n in rows if n.id in old} == old
        for n in rows[len(old) :]:
            assert not n.state.startswith(FIRST_FORMAT)
            assert n.state == canonical_json(fresh.wire_of(n)), n.id
        report = verify(fresh)
        assert report.ok, report.problems
        assert report.checked == len(old) + 3
    finally:
        fresh.close()


def _first_line_keyed(key: str) -> Envelope:
    drafts, _ = parse_lines(jsonl_lines((LEGACY / "extra.jsonl").read_text("utf-8")))
    return next(d for d in drafts if d.idempotency_key == key)


def test_a_flipped_byte_in_a_first_format_row_is_found(
    legacy_app: Negotiations, store_settings: Settings
) -> None:
    rows = [(n.id, n.state) for n in legacy_app.notifications()]
    owner = {e["position"]: json.loads(e["body"])["negotiation_id"] for e in _read_back()}
    rng = random.Random(20260101)
    for _ in range(SAMPLES):
        position, state = rng.choice(rows)
        mutated, at = flip_random_byte(rng, state)
        write_state(store_settings, position, mutated)
        reader = build_application(store_settings)
        try:
            with pytest.raises(EventCorrupted) as caught:
                reader.wires(owner[position])
            assert caught.value.position == position, f"byte {at} of {position}"
            assert position in {p.position for p in verify(reader).problems}
        finally:
            reader.close()
            write_state(store_settings, position, state)


def test_the_log_takes_first_format_rows_and_new_ones_alike(
    legacy_app: Negotiations, store_settings: Settings
) -> None:
    from events.tlog import Ed25519Signer, event_leaf_hash, root
    from services.recorder.ledger import LogWriter, compare_checkpoints, open_ledger

    legacy_app.record(note("On top.", "legacy-talks"), principal="t")
    ledger = open_ledger(legacy_app, store_settings)
    signer = Ed25519Signer.generate(ledger.origin)
    made = LogWriter(legacy_app, ledger, signer).checkpoint_now()
    stored = list(legacy_app.notifications())
    assert made.size == len(stored) > 1
    assert stored[0].state.startswith(FIRST_FORMAT)
    expected = [event_leaf_hash(n.id, legacy_app.body_of(n)[1]) for n in stored]
    assert made.root == root(expected)
    assert compare_checkpoints(legacy_app, ledger, [signer.verifier]).ok
