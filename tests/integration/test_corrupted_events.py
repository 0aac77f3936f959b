"""Any one flipped byte of a stored event is found wherever the event is read back: loading
its negotiation to record, folding it, and paging the store all raise ``EventCorrupted``
naming that position and negotiation (never a wrong answer or another error), while other
negotiations record as before."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.recorder.application import Negotiations
from services.recorder.exceptions import EventCorrupted
from services.recorder.store import eventsourcing_env
from services.settings import Settings
from tests.factories import note, scenario, started
from tests.store_faults import flip_random_byte, write_state

SCENARIO = "us-iraq-jscd"
SAMPLES = 40


@pytest.fixture
def uncached(store_settings: Settings, store_app: Negotiations) -> Iterator[Negotiations]:
    """A second application on the same store with no aggregate cache: every write loads its
    negotiation from the stored events."""
    app = Negotiations(env=eventsourcing_env(store_settings) | {"AGGREGATE_CACHE_MAXSIZE": ""})
    yield app
    app.close()


def _readers(app: Negotiations) -> dict[str, Callable[[], Any]]:
    return {
        "record": lambda: app.record(note("refused", nid=SCENARIO), principal="t"),
        "fold": lambda: app.wires(SCENARIO),
        "history": lambda: app.history(SCENARIO),
        "audit page": lambda: [app.wire_of(n) for n in app.notifications()],
    }


def test_any_flipped_byte_is_named_wherever_its_event_is_read(
    store_app: Negotiations, store_settings: Settings, uncached: Negotiations
) -> None:
    drafts = scenario()
    store_app.record_many(drafts, principal="tester")
    store_app.record_many(started("other"), principal="tester")
    rows = [(n.id, n.state) for n in store_app.notifications() if n.id <= len(drafts)]
    rng = random.Random(20241001)
    for _ in range(SAMPLES):
        position, state = rng.choice(rows)
        mutated, at = flip_random_byte(rng, state)
        write_state(store_settings, position, mutated)
        try:
            for name, read in _readers(uncached).items():
                with pytest.raises(EventCorrupted) as caught:
                    read()
                where = (caught.value.position, caught.value.negotiation_id)
                assert where[0] == position, f"{name}: byte {at} of {position} named {where}"
                assert where[1] in (SCENARIO, None if position == 1 else SCENARIO), name
        finally:
            write_state(store_settings, position, state)
    written = uncached.record(note("recorded", nid="other"), principal="t")
    assert written.position == store_app.max_position()
    assert uncached.record(note("recorded", nid=SCENARIO), principal="t").version == len(drafts) + 1
