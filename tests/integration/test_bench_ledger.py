"""Smoke runs of the log's benchmarks at a tiny size: they finish, report positive numbers,
and the tree they time is the tree the writer would build (never a timing assertion)."""

from __future__ import annotations

import math
from pathlib import Path

from events.tlog import event_leaf_hash, root
from services.bench.ledger import bench_proofs, bench_record_with_log, fill_tree
from services.recorder.ledger import open_ledger
from services.runtime.bootstrap import build_application
from services.settings import Settings


def test_proofs(tmp_path: Path) -> None:
    lines: list[str] = []
    result = bench_proofs(tmp_path, 1000, 20, progress=lines.append)
    for kind in ("inclusion", "consistency", "one_read"):
        for value in result[kind].values():
            assert math.isfinite(value) and value > 0, kind
        assert result[kind]["p50"] <= result[kind]["p99"]


def test_the_timed_tree_is_the_one_its_leaves_make(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, store="sqlite")
    app = build_application(settings)
    try:
        ledger = open_ledger(app, settings)
        fill_tree(ledger, 25_000)
        expected = [event_leaf_hash(i + 1, i.to_bytes(32, "big").hex()) for i in range(25_000)]
        assert ledger.root(25_000) == root(expected)
    finally:
        app.close()


def test_record_with_log(tmp_path: Path) -> None:
    result = bench_record_with_log(400, 20, tmp_path)
    assert result["with"] > 0 and result["without"] > 0
    assert result["catch_up_seconds"] >= 0
    assert result["checkpoints"] == 0  # 410 logged events: fewer than 1000, and within 60 s
