"""One stored state per reducer: ``timeline`` and ``audit`` fold what ``negotiation`` folds,
so their views are rendered from its one stored state when read, never stored apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis import Redis

from projections.live.store import ViewStore
from projections.live.worker import appliers
from projections.negotiation import empty
from projections.views import PROJECTIONS, STORED, Projection, _stored, rendered_from, store_of
from services.recorder.application import Negotiations
from services.relay.relay import Relay
from tests.integration.projections.support import canonical, write_notes

NIDS = ["talks-a", "talks-b"]


def test_the_workers_fold_each_stored_state_once(
    sqlite_app: Negotiations, relay: Relay, client: Redis, prefix: str
) -> None:
    write_notes(sqlite_app, NIDS, 40, 10)
    end = relay.catch_up()
    workers = appliers(client, prefix)
    assert sorted(workers) == sorted(STORED) == ["commitments", "negotiation", "positions"]
    for applier in workers.values():
        assert applier.apply_through() == end

    for name in ("timeline", "audit"):
        assert list(client.scan_iter(match=f"{prefix}:view:{name}*")) == []
    today = datetime.now(UTC).date()
    for name, projection in PROJECTIONS.items():
        store = ViewStore(client, prefix, name)
        gen = store.generation()
        assert store.tracked(gen) == end
        for nid in NIDS:
            served = store.load(gen, [nid])[nid]
            folded = projection.apply(None, sqlite_app.history(nid))
            if served is None and folded == empty():  # nothing of the types it keeps
                assert name in ("positions", "commitments")
                continue
            assert served is not None
            assert canonical(projection.render(served, today)) == canonical(
                projection.render(folded, today)
            ), f"{name}/{nid}"


def test_asking_for_a_view_runs_the_applier_of_the_state_it_is_rendered_from(
    client: Redis, prefix: str
) -> None:
    chosen = {name: PROJECTIONS[name] for name in ("timeline", "audit", "positions")}
    assert sorted(appliers(client, prefix, projections=chosen)) == ["negotiation", "positions"]
    assert [store_of(n) for n in PROJECTIONS] == [
        "negotiation",
        "negotiation",
        "positions",
        "commitments",
        "negotiation",
    ]
    assert rendered_from("negotiation") == ["negotiation", "timeline", "audit"]


def test_a_view_stored_as_another_must_keep_the_same_types() -> None:
    base = PROJECTIONS["negotiation"]
    odd = Projection("odd", base.render, frozenset({"PositionStated"}), stored_as="negotiation")
    with pytest.raises(ValueError, match="odd keeps other types than negotiation"):
        _stored({"negotiation": base, "odd": odd})
