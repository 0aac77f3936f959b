"""The tree check over more than one tile (256 leaves), fed a run of events at a time:
checkpoints at sizes inside and at the edge of a tile are matched, and each way the store can
differ from the log is named exactly as when the events are fed one by one."""

from __future__ import annotations

import pytest

from events import parse_draft
from events.tlog import Ed25519Signer
from services.bench.record import NEGOTIATIONS, note_body, opening_body
from services.recorder.application import Negotiations
from services.recorder.ledger import Ledger, LogWriter, TreeCheck, TreeReport, stored_event
from services.recorder.ledger.compare import subtree_hash

EVENTS = 700  # recorded beside the scenario's: two full tiles and a partial one
EVERY = 97  # checkpoints inside tiles, and at 256-leaf edges by the final one of each run

Row = tuple[int, str, str | None]


@pytest.fixture(params=[EVERY, 256])
def rows(
    memory_app: Negotiations, ledger: Ledger, signer: Ed25519Signer, request: pytest.FixtureRequest
) -> list[Row]:
    """EVENTS events recorded and logged, checkpointed at the end and every EVERY events
    (inside tiles) or every 256 (at tile edges)."""
    app = memory_app
    drafts = [parse_draft(opening_body(i)) for i in range(NEGOTIATIONS)]
    drafts += [parse_draft(note_body(n % NEGOTIATIONS, n)) for n in range(NEGOTIATIONS, EVENTS)]
    app.record_many(drafts, principal="test")
    writer = LogWriter(app, ledger, signer, every=request.param, seconds=1e9, batch=EVERY)
    writer.catch_up()
    writer.checkpoint_now()
    return [(n.id, *stored_event(app, n)) for n in app.notifications()]


def by_runs(ledger: Ledger, signer: Ed25519Signer, rows: list[Row], run: int) -> TreeReport:
    tree = TreeCheck(ledger, [signer.verifier])
    for start in range(0, len(rows), run):
        part = rows[start : start + run]
        tree.feed_all(
            [p for p, _, _ in part], [bytes.fromhex(h) for _, h, _ in part], [n for *_, n in part]
        )
    return tree.finish()


def one_by_one(ledger: Ledger, signer: Ed25519Signer, rows: list[Row]) -> TreeReport:
    tree = TreeCheck(ledger, [signer.verifier])
    for row in rows:
        tree.feed(*row)
    return tree.finish()


def located(report: TreeReport) -> list[tuple[str, int | None, int | None]]:
    return [(f.kind, f.position, f.checkpoint_size) for f in report.findings]


@pytest.mark.parametrize("run", [1, 100, 256, 1000])
def test_an_untouched_store_matches_checkpoints_inside_and_at_tile_edges(
    ledger: Ledger, signer: Ed25519Signer, rows: list[Row], run: int
) -> None:
    report = by_runs(ledger, signer, rows, run)
    assert report.ok, report.findings
    assert report.leaves == len(rows) > EVENTS
    sizes = [c.size for c in ledger.checkpoints()]
    assert report.checkpoints == len(sizes) >= 3
    assert sizes in ([*range(EVERY, len(rows), EVERY), len(rows)], [256, 512, len(rows)])


@pytest.mark.parametrize("at", [3, 300, 511, 699])
def test_an_altered_event_in_a_run_is_named_as_one_by_one(
    ledger: Ledger, signer: Ed25519Signer, rows: list[Row], at: int
) -> None:
    position, _, nid = rows[at]
    rows[at] = (position, "ab" * 32, nid)
    report = by_runs(ledger, signer, rows, 100)
    assert located(report) == located(one_by_one(ledger, signer, rows))
    assert (report.findings[0].kind, report.findings[0].position) == ("altered_bytes", position)


def test_the_newest_events_deleted_from_a_run_are_missing(
    ledger: Ledger, signer: Ed25519Signer, rows: list[Row]
) -> None:
    report = by_runs(ledger, signer, rows[:650], 256)
    assert located(report) == located(one_by_one(ledger, signer, rows[:650]))
    assert (report.findings[0].kind, report.findings[0].position) == ("missing_event", rows[650][0])
    beyond = min(c.size for c in ledger.checkpoints() if c.size > 650)
    assert any(f.checkpoint_size == beyond for f in report.findings)


def test_events_that_traded_places_across_tiles_are_reordered(
    ledger: Ledger, signer: Ed25519Signer, rows: list[Row]
) -> None:
    (p1, h1, n1), (p2, h2, n2) = rows[200], rows[400]
    rows[200], rows[400] = (p1, h2, n2), (p2, h1, n1)
    report = by_runs(ledger, signer, rows, 1000)
    assert located(report)[:2] == [("reordered", p1, None), ("reordered", p2, None)]
    assert located(report) == located(one_by_one(ledger, signer, rows))


def test_a_tile_is_hashed_as_rfc_9162_hashes_it() -> None:
    from events.tlog.merkle import root

    leaves = [bytes([i]) * 32 for i in range(256)]
    assert subtree_hash(leaves) == root(leaves)
