"""Where the key form sends the visitor back: a local path only."""

from __future__ import annotations

import pytest

from services.web.session import back_to


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/n/us-iraq-jscd?as_of=2024", "/n/us-iraq-jscd?as_of=2024"),
        ("/", "/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_a_local_path_is_returned_to(target: str | None, expected: str) -> None:
    assert back_to(target) == expected
