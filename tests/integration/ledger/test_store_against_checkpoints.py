"""Tamper drills against the log (SQLite and PostgreSQL): each change an intruder with write
access to the store can make is found by holding the store to the signed checkpoints, named by
kind, at the first bad position; the untouched store passes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from events.tlog import Checkpoint, Ed25519Signer, parse_checkpoint, parse_note, sign_checkpoint
from services.recorder.ledger import (
    Ledger,
    LogWriter,
    TreeReport,
    compare_checkpoints,
    open_ledger,
)
from services.runtime.bootstrap import build_application
from services.settings import Settings
from tests.store_faults import stored_state, write_state

NID = "us-iraq-jscd"


@contextmanager
def store_sql(settings: Settings) -> Iterator[Any]:
    """A cursor-like ``run(sqlite_sql, pg_sql, params)`` on the store, outside the app."""
    if settings.store == "sqlite":
        import sqlite3

        with sqlite3.connect(settings.events_db) as db:
            yield lambda lite, pg, params=(): db.execute(lite, params)
        return
    import psycopg

    from tests.conftest import PG

    with psycopg.connect(**PG, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'SET search_path TO "{settings.postgres_schema}"')
        yield lambda lite, pg, params=(): conn.execute(pg, params)


@pytest.fixture
def checkpointed(writer: LogWriter) -> LogWriter:
    """The scenario (positions 1..15) logged, checkpoints at 6, 12 and 15."""
    writer.catch_up()
    writer.checkpoint_now()
    return writer


def verify_fresh(settings: Settings, signer: Ed25519Signer) -> TreeReport:
    """The comparison as a new process makes it, reading only the store."""
    app = build_application(settings)
    try:
        return compare_checkpoints(app, open_ledger(app, settings), [signer.verifier])
    finally:
        app.close()


def kinds(report: TreeReport) -> list[tuple[str, int | None]]:
    return [(f.kind, f.position) for f in report.findings]


def test_the_untouched_store_matches_every_signed_checkpoint(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer
) -> None:
    report = verify_fresh(store_settings, signer)
    assert report.ok
    assert (report.leaves, report.checkpoints) == (15, 3)


def test_a_flipped_byte_is_altered_bytes_at_its_position(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer
) -> None:
    state = stored_state(store_settings, 5)
    at = state.index(b'"outlet":"') + len(b'"outlet":"')
    write_state(store_settings, 5, state[:at] + state[at : at + 1].swapcase() + state[at + 1 :])
    report = verify_fresh(store_settings, signer)
    assert kinds(report) == [("altered_bytes", 5)]
    assert report.findings[0].negotiation_id == NID


def test_a_middle_row_deleted_is_a_missing_event(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer
) -> None:
    with store_sql(store_settings) as run:
        run(
            "DELETE FROM stored_events WHERE rowid=8",
            "DELETE FROM negotiations_events WHERE notification_id=8",
        )
    assert kinds(verify_fresh(store_settings, signer))[0] == ("missing_event", 8)


@pytest.mark.parametrize("log_rows_too", [False, True], ids=["events", "events and log rows"])
def test_the_newest_rows_deleted_are_caught_by_the_checkpoint(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer, log_rows_too: bool
) -> None:
    with store_sql(store_settings) as run:
        run(
            "DELETE FROM stored_events WHERE rowid>=14",
            "DELETE FROM negotiations_events WHERE notification_id>=14",
        )
        if log_rows_too:  # the intruder cleans the log's own rows as well
            run(
                "DELETE FROM talkstream_tree WHERE position>=14",
                "DELETE FROM talkstream_tree WHERE position>=14",
            )
    report = verify_fresh(store_settings, signer)
    assert report.findings[0].kind == "missing_event"
    assert report.findings[0].position == (None if log_rows_too else 14)
    by_checkpoint = [f for f in report.findings if f.checkpoint_size == 15]
    assert [f.kind for f in by_checkpoint] == ["missing_event"]
    assert "larger than the store" in by_checkpoint[0].message


def test_two_rows_whose_positions_were_swapped_are_reordered(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer
) -> None:
    with store_sql(store_settings) as run:
        for old, new in ((3, -3), (9, 3), (-3, 9)):
            run(
                "UPDATE stored_events SET rowid=? WHERE rowid=?",
                "UPDATE negotiations_events SET notification_id=%s WHERE notification_id=%s",
                (new, old),
            )
    report = verify_fresh(store_settings, signer)
    assert kinds(report) == [("reordered", 3), ("reordered", 9)]


def test_checkpoints_re_signed_with_another_key_are_bad_signatures(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer, ledger: Ledger
) -> None:
    intruder = Ed25519Signer.generate(ledger.origin)
    with store_sql(store_settings) as run:
        for stored in ledger.checkpoints():
            text, _ = parse_note(stored.note)
            forged = sign_checkpoint(parse_checkpoint(text), [intruder])
            run(
                "UPDATE talkstream_checkpoints SET note=? WHERE size=?",
                "UPDATE talkstream_checkpoints SET note=%s WHERE size=%s",
                (forged, stored.size),
            )
    report = verify_fresh(store_settings, signer)
    assert [(f.kind, f.checkpoint_size) for f in report.findings] == [
        ("bad_signature", 6),
        ("bad_signature", 12),
        ("bad_signature", 15),
    ]


def test_a_checkpoint_whose_root_was_swapped_for_the_rewritten_tree_does_not_verify(
    checkpointed: LogWriter, store_settings: Settings, signer: Ed25519Signer, ledger: Ledger
) -> None:
    stored = ledger.latest_checkpoint()
    assert stored is not None
    text, signatures = parse_note(stored.note)
    lied = Checkpoint(ledger.origin, stored.size, bytes(32)).text
    forged = lied + "\n" + "".join(s.line + "\n" for s in signatures)  # the old signature
    with store_sql(store_settings) as run:
        run(
            "UPDATE talkstream_checkpoints SET note=? WHERE size=?",
            "UPDATE talkstream_checkpoints SET note=%s WHERE size=%s",
            (forged, stored.size),
        )
    report = verify_fresh(store_settings, signer)
    assert [(f.kind, f.checkpoint_size) for f in report.findings] == [("bad_signature", 15)]
    assert text != lied
