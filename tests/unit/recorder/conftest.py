"""The recorder's unit tests run on eventsourcing's in-memory store (``memory_app``)."""

from __future__ import annotations

import pytest

from services.recorder.application import Negotiations
from tests.factories import started
from tests.unit.recorder.support import given


@pytest.fixture
def app(memory_app: Negotiations) -> Negotiations:
    """A negotiation opened with two parties."""
    given(memory_app, *started())
    return memory_app
