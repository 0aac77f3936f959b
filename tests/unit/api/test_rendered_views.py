"""Rendered views are reused only for the same head (version and position), generation and
day, and the oldest are dropped past the limit."""

from __future__ import annotations

from datetime import date

from services.api.rendered import RenderedViews, view_json

TODAY = date(2026, 11, 27)
KEY = ("negotiation", "0", "talks-a")


def test_the_same_head_and_day_reuse_the_view() -> None:
    views = RenderedViews()
    views.put(KEY, b'{"version":3}', TODAY, {"status": "active"})
    assert views.get(KEY, b'{"version":3}', TODAY) == {"status": "active"}


def test_a_new_head_another_generation_or_a_new_day_miss() -> None:
    views = RenderedViews()
    views.put(KEY, b'{"version":3}', TODAY, {"status": "active"})
    assert views.get(KEY, b'{"version":4}', TODAY) is None
    assert views.get(("negotiation", "1", "talks-a"), b'{"version":3}', TODAY) is None
    assert views.get(KEY, b'{"version":3}', date(2026, 11, 28)) is None


def test_past_the_limit_the_least_recently_used_goes() -> None:
    views = RenderedViews(limit=2)
    for n in range(3):
        views.put(("negotiation", "0", f"n{n}"), b"h", TODAY, n)
    assert views.get(("negotiation", "0", "n0"), b"h", TODAY) is None
    assert views.get(("negotiation", "0", "n2"), b"h", TODAY) == 2


def test_a_rendering_is_kept_as_the_json_the_answer_holds_and_read_back_equal() -> None:
    views = RenderedViews()
    view = {"title": "Gespräche", "score": 0.5, "n": 3, "due": None, "rows": [True, "x"]}
    views.put(KEY, b"h", TODAY, view)
    views.confirm(KEY, 7)
    rendering = views.current_rendering(KEY, 7, TODAY)
    assert rendering is not None and rendering.encoded == view_json(view)
    assert views.get(KEY, b"h", TODAY) == view
    assert views.current(KEY, 7, TODAY) == view
    assert views.current(KEY, 8, TODAY) is None  # a write since


def test_past_the_byte_limit_the_least_recently_used_go_even_below_the_count() -> None:
    large = {"context": {f"e{n}": {"text": "x" * 400} for n in range(100)}}  # about 28 KB
    views = RenderedViews(limit=1024, limit_bytes=60_000)
    for n in range(3):
        views.put(("negotiation", "0", f"n{n}"), b"h", TODAY, large | {"n": n})
    assert views.get(("negotiation", "0", "n0"), b"h", TODAY) is None
    assert views.get(("negotiation", "0", "n2"), b"h", TODAY) is not None
    assert 0 < views.bytes <= 60_000


def test_a_view_put_again_is_counted_once() -> None:
    views = RenderedViews()
    views.put(KEY, b"h1", TODAY, {"status": "active"})
    once = views.bytes
    views.put(KEY, b"h2", TODAY, {"status": "active"})
    assert views.bytes == once
