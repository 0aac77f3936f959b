"""Rendered pages are made once per key and the oldest are dropped past the limit."""

from __future__ import annotations

from services.web.rendered import Rendered


def test_a_key_is_made_once_and_the_oldest_key_is_dropped_past_the_limit() -> None:
    made: list[str] = []

    def make(text: str) -> str:
        made.append(text)
        return text.upper()

    kept: Rendered[str] = Rendered(limit=2)
    assert kept.get("a", lambda: make("a")) == "A"
    assert kept.get("a", lambda: make("a")) == "A"
    assert made == ["a"]
    kept.get("b", lambda: make("b"))
    kept.get("a", lambda: make("a"))  # a is now the newest
    kept.get("c", lambda: make("c"))  # drops b
    kept.get("a", lambda: make("a"))
    kept.get("b", lambda: make("b"))
    assert made == ["a", "b", "c", "b"]
