"""The tamper drills of the audit, on SQLite and PostgreSQL: each kind of tampering an intruder
with write access could do is detected by `talkstream audit verify`, named (kind, first bad
position, negotiation) and exits 1; the untouched store passes with every part compared."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from services.settings import Settings
from tests import tamper
from tests.store_faults import run_cli

NID = "us-iraq-jscd"  # the bundled scenario's one negotiation, 15 events


@pytest.fixture
def logged(store_settings: Settings, redis_url: str, prefix: str) -> Settings:
    settings = store_settings.model_copy(update={"redis_url": redis_url, "prefix": prefix})
    tamper.logged_store(settings)
    return settings


def verify(settings: Settings) -> tuple[int, dict[str, Any], str]:
    done = run_cli(settings, "audit", "verify", "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_the_untouched_store_passes_with_every_part_compared(logged: Settings) -> None:
    code, report, _ = verify(logged)
    assert code == 0, report
    assert report["ok"] is True and report["checked"] == 15 and report["findings"] == []
    assert set(report["checks"].values()) == {"ok"}, report["checks"]
    assert {"store", "log", "stream", "view negotiation", "view audit"} <= set(report["checks"])


def _first(settings: Settings) -> tuple[dict[str, Any], str]:
    code, report, stderr = verify(settings)
    assert code == 1, report
    assert report["ok"] is False
    return report["first"], stderr


DRILLS: dict[str, tuple[Callable[[Settings], None], str, int]] = {
    "flipped byte": (lambda s: tamper.flip_a_letter(s, 5), "altered_bytes", 5),
    "middle row deleted": (lambda s: tamper.delete(s, 8), "missing_event", 8),
    "newest rows deleted": (lambda s: tamper.delete(s, 14, 15), "missing_event", 14),
    "two rows swapped": (lambda s: tamper.swap_positions(s, 4, 6), "reordered", 4),
    "forged event, chain recomputed": (lambda s: tamper.forge(s, 7), "altered_bytes", 7),
}


@pytest.mark.parametrize("drill", list(DRILLS))
def test_each_tampering_of_the_store_is_named_with_its_first_position(
    logged: Settings, drill: str
) -> None:
    change, kind, position = DRILLS[drill]
    change(logged)
    first, stderr = _first(logged)
    assert (first["kind"], first["position"], first["negotiation_id"]) == (kind, position, NID)
    assert f"first: {kind} at position {position} ({NID})" in stderr


def test_deleting_the_newest_rows_is_caught_by_the_checkpoint_not_the_chain(
    logged: Settings,
) -> None:
    tamper.delete(logged, 14, 15)
    _, report, _ = verify(logged)
    assert report["checks"]["store"] == "ok"  # the chain of what is left holds
    assert report["checks"]["log"] == "failed"
    reasons = [f["reason"] for f in report["findings"] if f["kind"] == "missing_event"]
    assert any("checkpoint of size 15 is larger than the store" in r for r in reasons), reasons


def test_a_forged_event_with_a_recomputed_chain_passes_the_chain_but_not_the_log(
    logged: Settings,
) -> None:
    tamper.forge(logged, 7)
    _, report, _ = verify(logged)
    assert report["checks"]["store"] == "ok"
    assert report["checks"]["log"] == "failed"
    assert report["checks"]["stream"] == "failed"  # the stream still holds the true bytes


def test_one_changed_stream_entry_is_a_stream_mismatch(logged: Settings, client: Redis) -> None:
    tamper.change_stream_entry(client, logged, 9)
    first, _ = _first(logged)
    assert (first["kind"], first["position"]) == ("stream_mismatch", 9)
    assert "event bytes differ" in first["reason"]


def test_one_changed_view_field_is_view_drift(logged: Settings, client: Redis) -> None:
    view = tamper.change_view_field(client, logged, NID)
    first, _ = _first(logged)
    assert (first["kind"], first["negotiation_id"]) == ("view_drift", NID)
    assert f"the {view} view differs from a fresh fold (field view.title)" in first["reason"]


def test_a_checkpoint_signed_by_another_key_is_a_bad_signature(logged: Settings) -> None:
    tamper.execute(
        logged,
        "UPDATE {schema}talkstream_checkpoints SET note=? WHERE size=15",
        _resigned_note(logged),
    )
    first, _ = _first(logged)
    assert (first["kind"], first["position"]) == ("bad_signature", None)
    assert "checkpoint of size 15 does not verify" in first["reason"]


def _resigned_note(settings: Settings) -> str:
    from events.tlog import Ed25519Signer, parse_checkpoint, parse_note, sign_checkpoint

    note = tamper.execute(settings, "SELECT note FROM {schema}talkstream_checkpoints")[0][0]
    text, _ = parse_note(note)
    forger = Ed25519Signer.generate(settings.log_origin)
    return sign_checkpoint(parse_checkpoint(text), [forger])


def test_an_export_verifies_offline_and_one_of_a_tampered_store_does_not(
    logged: Settings, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.tar.gz", tmp_path / "bad.tar.gz"
    assert run_cli(logged, "audit", "export", "--out", good).returncode == 0
    checked = run_cli(logged, "audit", "verify", "--bundle", good, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tamper.flip_a_letter(logged, 5)
    assert run_cli(logged, "audit", "export", "--out", bad).returncode == 0
    failed = run_cli(logged, "audit", "verify", "--bundle", bad, "--json")
    assert failed.returncode == 1
    first = json.loads(failed.stdout)["first"]
    assert (first["kind"], first["position"]) == ("altered_bytes", 5)
