"""The ledger on real stores: a SQLite file and a fresh PostgreSQL schema."""

from __future__ import annotations

import pytest

from events.tlog import Ed25519Signer
from services.recorder.application import Negotiations
from services.recorder.ledger import Ledger, LogWriter, open_ledger
from services.settings import Settings
from tests.factories import scenario

ORIGIN = "talkstream.local/log"


@pytest.fixture
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate(ORIGIN)


@pytest.fixture
def ledger(store_app: Negotiations, store_settings: Settings) -> Ledger:
    store_app.record_many(scenario(), principal="ledger-test")
    return open_ledger(store_app, store_settings)


@pytest.fixture
def writer(store_app: Negotiations, ledger: Ledger, signer: Ed25519Signer) -> LogWriter:
    return LogWriter(store_app, ledger, signer, every=6, seconds=1e9, batch=4)
