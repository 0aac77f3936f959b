"""A long-running process (``up``, the relay, the workers) moves what it made before serving
out of the cyclic collector's reach, so a full collection walks only what it made since."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.runtime.runner import settle_collector


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_objects_made_before_serving_are_left_out_of_collections() -> None:
    before = {"made": ["before serving"]}
    settle_collector()
    after = {"made": ["while serving"]}
    tracked = {id(o) for o in gc.get_objects()}
    assert id(before) not in tracked
    assert id(after) in tracked
    assert gc.get_freeze_count() > 0
