"""``talkstream bench verify``'s verification part runs end to end on a small store: the store
it fills verifies, its export verifies offline, and every figure is a measured rate."""

from __future__ import annotations

from pathlib import Path

from services.bench.audit import bench_audit


def test_the_verification_figures_come_from_a_store_that_verifies(tmp_path: Path) -> None:
    lines: list[str] = []
    r = bench_audit(tmp_path, 1200, progress=lines.append)
    assert r["events"] == 1200
    assert r["verify"] > 0 and r["raw_read_and_hash"] > 0 and r["raw_hash_only"] > 0
    assert r["export_seconds"] > 0 and r["offline_seconds"] > 0 and r["bundle_bytes"] > 0
    assert "logged and checkpointed 1200 events" in lines
    assert (tmp_path / "log.tar.gz").exists()
