"""An applier folds each negotiation of a batch into the slice of its state that the batch's
events read (its headline and the entries they touch), not its whole history, unless one of
them is a correction: a catch-up over many long negotiations holds a few entries of each, and
the views it serves are those of the pure fold."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis

from projections.live import apply as applying
from projections.live.store import Batch, ViewStore
from projections.live.worker import appliers
from projections.views import PROJECTIONS
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.factories import correction, note
from tests.integration.projections.support import live_differences, write_notes

CHUNK = 20


def _watching(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int]]:
    """The negotiations loaded whole, and the records each committed state held."""
    whole: list[str] = []
    held: list[int] = []
    load, commit = ViewStore.load, ViewStore.commit

    def loading(self: ViewStore, gen: str, nids: list[str]) -> Any:
        whole.extend(nids)
        return load(self, gen, nids)

    def committing(
        self: ViewStore, gen: str, expected: int, tracked: int, batch: Batch, **options: Any
    ) -> Any:
        held.extend(len(state["registry"]) for state in batch.states.values())
        return commit(self, gen, expected, tracked, batch, **options)

    monkeypatch.setattr(ViewStore, "load", loading)
    monkeypatch.setattr(ViewStore, "commit", committing)
    monkeypatch.setattr(applying, "READ_CHUNK", CHUNK)
    return whole, held


@pytest.mark.parametrize("budget", [0, 50])
def test_a_catch_up_over_long_negotiations_folds_into_slices_of_their_states(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
) -> None:
    nids = [f"talks-{n}" for n in range(6)]
    write_notes(sqlite_app, nids, 600, 7)  # 100 notes each, interleaved
    relay.catch_up()
    whole, held = _watching(monkeypatch)
    for applier in appliers(client, prefix, state_budget=budget).values():
        applier.apply_through()
        assert applier._cache.held <= budget
    assert whole == []
    assert held and max(held) <= CHUNK  # a batch's own records, not a history of 100
    for name in ("negotiation", "positions", "commitments"):
        store = ViewStore(client, prefix, name)
        assert live_differences(store, PROJECTIONS[name], sqlite_app, nids) == []


def test_a_negotiation_with_a_correction_in_the_batch_is_folded_whole(
    sqlite_app: Negotiations,
    relay: Relay,
    client: Redis,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nids = ["talks-0", "talks-1"]
    write_notes(sqlite_app, nids, 80, 5)
    relay.catch_up()
    workers = appliers(client, prefix)
    for applier in workers.values():
        applier.apply_through()
    target = sqlite_app.history("talks-1")[-1].event_id
    sqlite_app.record_many(
        [correction(target, {"text": "Corrected."}, nid="talks-1")], principal="fixer"
    )
    sqlite_app.record_many([note(f"late {n}", nid=nids[n % 2]) for n in range(10)], principal="x")
    relay.catch_up()
    whole, _ = _watching(monkeypatch)
    for applier in workers.values():
        applier._cache.clear()  # as after an eviction: the states are read again
        applier._cached_at = None
        applier.apply_through()
    assert set(whole) == {"talks-1"}  # the corrected one only, and its whole state
    for name in ("negotiation", "positions", "commitments"):
        store = ViewStore(client, prefix, name)
        assert live_differences(store, PROJECTIONS[name], sqlite_app, nids) == []
