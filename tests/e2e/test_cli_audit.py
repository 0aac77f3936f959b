"""``talkstream audit verify``: every stored event hashes to its hash; tampering with the
SQLite file is caught and the position named."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.e2e.helpers import Runner, ok


def flip_a_letter_in_the_5th_row(db: Path) -> int:
    """Swaps the case of the first letter of the first source's outlet in the 5th stored
    event (the JSON stays valid and the same length); returns the row's position."""
    with sqlite3.connect(db) as conn:
        rowid, state = conn.execute(
            "SELECT rowid, state FROM stored_events ORDER BY rowid LIMIT 1 OFFSET 4"
        ).fetchone()
        state = bytes(state)
        marker = b'"outlet":"'  # the event is stored as its canonical JSON
        at = state.index(marker) + len(marker)
        assert chr(state[at]).isalpha()
        tampered = state[:at] + chr(state[at]).swapcase().encode() + state[at + 1 :]
        conn.execute("UPDATE stored_events SET state=? WHERE rowid=?", (tampered, rowid))
    conn.close()
    return int(rowid)


def test_audit_after_demo_is_ok(demo_cli: Runner) -> None:
    result = ok(demo_cli("audit", "verify"))
    assert "audit ok: 15 events verified up to position 15" in result.stdout


def test_audit_names_the_position_of_a_tampered_event(demo_cli: Runner, cli: Runner) -> None:
    shutil.copytree(demo_cli.home, cli.home)  # tamper with a copy; the module store stays good
    position = flip_a_letter_in_the_5th_row(cli.home / "events.db")
    assert position == 5

    result = cli("audit", "verify")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "altered_bytes at position 5 (us-iraq-jscd): hash does not match" in result.stderr
    assert "first: altered_bytes at position 5 (us-iraq-jscd)" in result.stderr
    assert "audit ok" not in result.stdout
