"""Keys of a test's own on the shared Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from services.bench.target import delete_prefix


@contextmanager
def owned_prefix(redis_url: str) -> Iterator[str]:
    """A fresh key prefix; its keys (and only those) are deleted afterwards, never FLUSHALL."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        delete_prefix(redis_url, name)
