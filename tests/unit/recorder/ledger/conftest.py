"""The ledger's unit tests: an application on the in-memory store with a log beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.tlog import Ed25519Signer
from services.recorder.application import Negotiations
from services.recorder.ledger import Ledger, LogWriter, open_ledger
from services.settings import Settings
from tests.factories import scenario
from tests.unit.recorder.support import given

ORIGIN = "talkstream.test/log"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", log_origin=ORIGIN)


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate(ORIGIN)


@pytest.fixture
def recorded(memory_app: Negotiations) -> Negotiations:
    """The scenario (15 events) recorded."""
    given(memory_app, *scenario())
    return memory_app


@pytest.fixture
def ledger(recorded: Negotiations, settings: Settings) -> Ledger:
    return open_ledger(recorded, settings)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def writer(
    recorded: Negotiations, ledger: Ledger, signer: Ed25519Signer, clock: Clock
) -> LogWriter:
    return LogWriter(recorded, ledger, signer, every=4, seconds=60, batch=3, clock=clock)
