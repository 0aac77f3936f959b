"""The U.S.–Iraq scenario recorded on an in-memory store, for the view tests."""

from __future__ import annotations

import pytest

from events import RecordedEvent
from services.recorder.application import Negotiations
from tests.unit.projections.support import record_scenario


@pytest.fixture
def scenario(memory_app: Negotiations) -> list[RecordedEvent]:
    return record_scenario(memory_app)
