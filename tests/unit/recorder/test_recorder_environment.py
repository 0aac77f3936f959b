"""An application whose environment names a recorder of the library itself (not one of the
store recorders) is refused at once, saying how to build the environment."""

from __future__ import annotations

import pytest

from services.recorder.application import Negotiations
from services.recorder.store import MEMORY_ENV, MemoryRecorder


def test_a_plain_library_recorder_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="eventsourcing_env"):
        Negotiations(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_the_memory_environment_names_the_memory_recorder() -> None:
    app = Negotiations(env=MEMORY_ENV)
    assert type(app.recorder) is MemoryRecorder and app.store == "memory"
    assert app.store_problem() is None
