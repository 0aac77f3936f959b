"""A smoke run of ``bench growth`` at a tiny size: it finishes, reports every measure from the
processes it ran (peak RSS read from each one's own usage); never a timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.bench import growth
from services.bench.growth import bench_growth, family, rows, write_record
from services.recorder.jsonl import numbered_drafts


def test_the_record_is_openings_parties_then_notes_spread_over_the_negotiations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "record.jsonl"
    write_record(path, 40, negotiations=4)
    lines = path.read_text("utf-8").splitlines()
    drafts = [d for _, d in numbered_drafts(lines)]  # every line a valid event
    assert len(drafts) == 40
    kinds = [d.type for d in drafts]
    assert kinds[:3] == ["NegotiationOpened", "PartyJoined", "PartyJoined"]
    assert kinds[12:] == ["ContextNoted"] * 28
    assert {d.negotiation_id for d in drafts[12:]} == {f"growth-{i}" for i in range(4)}
    assert all(350 <= len(json.loads(line)["payload"]["text"]) <= 400 for line in lines[12:])


def test_key_families_name_keys_without_their_negotiation_or_number() -> None:
    assert family("p:view:negotiation:3:state:growth-17", "p") == "view:negotiation:*:state:*"
    assert family("p:events", "p") == "events"


def test_one_size_is_measured_end_to_end_and_cleaned_up(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(growth, "LIVE_GETS", 20)
    lines: list[str] = []
    [size] = bench_growth([400], tmp_path, lines.append, negotiations=20, redis_url=redis_url)
    assert size.imported is not None and size.imported.peak_rss_mb > 0
    assert size.rebuilt is not None and size.rebuilt.peak_rss_mb > 0
    assert size.verified is not None and size.verified.seconds > 0
    assert size.redis_bytes["events"] > 0  # the stream: one entry per event
    assert sum(size.redis_bytes.values()) > size.redis_bytes["events"]
    assert size.asof_questions == 20 and size.asof_ms[1] >= size.asof_ms[0] > 0
    assert size.up_rss_mb[0] > 0
    assert [name for name, _ in rows([size])][:2] == ["events", "import s"]
