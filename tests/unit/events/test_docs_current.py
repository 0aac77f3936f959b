"""docs/events.md is generated from the models: it must not go stale."""

from __future__ import annotations

from pathlib import Path

from events.schema import markdown

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_event_docs_match_the_models() -> None:
    assert DOC.read_text("utf-8") == markdown(), (
        "docs/events.md is stale: run `talkstream schema docs docs/events.md`"
    )
