"""The store against the log: the tree rebuilt from the stored events must reach every signed
checkpoint's root; each way the store can differ from the log is named, with the first bad
position."""

from __future__ import annotations

from events.tlog import Ed25519Signer
from services.recorder.application import Negotiations
from services.recorder.ledger import (
    Ledger,
    LogWriter,
    TreeCheck,
    TreeReport,
    compare_checkpoints,
    open_ledger,
    stored_event,
)
from services.recorder.store import MEMORY_ENV
from services.settings import Settings
from tests.factories import scenario
from tests.unit.recorder.support import given

Row = tuple[int, str, str | None]


def logged(writer: LogWriter) -> list[Row]:
    """Log every stored event (checkpoints at 4, 8, 12 and 15); the stored rows as fed."""
    writer.catch_up()
    writer.checkpoint_now()
    return [(n.id, *stored_event(writer.app, n)) for n in writer.app.notifications()]


def check(ledger: Ledger, signer: Ed25519Signer, rows: list[Row]) -> TreeReport:
    tree = TreeCheck(ledger, [signer.verifier])
    for row in rows:
        tree.feed(*row)
    return tree.finish()


def test_an_untouched_store_matches_every_checkpoint(
    recorded: Negotiations, ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    logged(writer)
    report = compare_checkpoints(recorded, ledger, [signer.verifier])
    assert report.ok, report.findings
    assert (report.leaves, report.checkpoints) == (15, 4)


def test_an_altered_event_is_named_at_its_position(
    ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    rows = logged(writer)
    position, _, nid = rows[5]
    rows[5] = (position, "ab" * 32, nid)
    report = check(ledger, signer, rows)
    first = report.findings[0]
    assert (first.kind, first.position, first.negotiation_id) == ("altered_bytes", position, nid)
    assert report.counts == {"altered_bytes": 1}


def test_a_missing_middle_event_is_named(
    ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    rows = logged(writer)
    gone = rows.pop(6)
    report = check(ledger, signer, rows)
    assert (report.findings[0].kind, report.findings[0].position) == ("missing_event", gone[0])


def test_the_newest_events_deleted_are_caught_by_the_checkpoint(
    ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    rows = logged(writer)
    report = check(ledger, signer, rows[:13])
    assert report.findings[0].kind == "missing_event"
    assert report.findings[0].position == rows[13][0]
    assert any(f.checkpoint_size == 15 for f in report.findings)


def test_two_events_that_traded_places_are_reordered(
    ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    rows = logged(writer)
    (p3, h3, n3), (p9, h9, n9) = rows[3], rows[9]
    rows[3], rows[9] = (p3, h9, n9), (p9, h3, n3)
    report = check(ledger, signer, rows)
    assert [(f.kind, f.position) for f in report.findings] == [("reordered", p3), ("reordered", p9)]


def test_an_event_the_log_never_had_is_extra(
    ledger: Ledger, writer: LogWriter, signer: Ed25519Signer
) -> None:
    rows = logged(writer)
    rows.insert(7, rows[6])  # a second row at a position the log holds once
    report = check(ledger, signer, rows)
    assert (report.findings[0].kind, report.findings[0].position) == ("extra_event", rows[7][0])


def test_checkpoints_not_signed_by_the_log_key_are_bad_signatures(
    ledger: Ledger, writer: LogWriter
) -> None:
    rows = logged(writer)
    stranger = Ed25519Signer.generate(ledger.origin)
    report = check(ledger, stranger, rows)
    assert [f.kind for f in report.findings] == ["bad_signature"] * 4
    assert sorted(f.checkpoint_size for f in report.findings) == [4, 8, 12, 15]  # type: ignore[type-var]


def test_a_history_rewritten_with_its_log_is_caught_by_the_signed_checkpoints(
    recorded: Negotiations,
    ledger: Ledger,
    writer: LogWriter,
    signer: Ed25519Signer,
    settings: Settings,
) -> None:
    logged(writer)
    # The same drafts recorded again (other record times: every hash differs, every chain
    # holds), with a consistent log of their own; the old signed checkpoints copied in (the
    # forger cannot sign new ones with the log's key).
    forged = Negotiations(env=MEMORY_ENV)
    given(forged, *scenario())
    forged_ledger = open_ledger(forged, settings)
    LogWriter(forged, forged_ledger, signer, every=10**6, seconds=1e9).catch_up()
    for kept in ledger.checkpoints():
        forged_ledger.tables.add_checkpoint(kept)
    report = compare_checkpoints(forged, forged_ledger, [signer.verifier])
    forged.close()
    assert [f.kind for f in report.findings] == ["altered_bytes"]
    assert report.findings[0].checkpoint_size == 4
    assert report.findings[0].position == 1  # after the last checkpoint that matched (none)
